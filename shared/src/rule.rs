//! What a rule is (declared metadata plus one pure function), what it takes (parameters) and
//! what it returns (a [`Verdict`] with its causes).
//!
//! Everything every rule would otherwise repeat lives in [`Rule::judge`]: scope, deleted items,
//! AWS managed keys and keys pending deletion are NOT_APPLICABLE before the rule's own function
//! runs. A rule's `evaluate` only decides the interesting cases.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::arn::{is_account_id, Arn};
use crate::exceptions::Applied;
use crate::item::{Details, KeyManager, Resource, ResourceType};
use crate::resolver::Resolver;

/// The compliance values PutEvaluations accepts from a rule (never INSUFFICIENT_DATA). They
/// read back as they are written (the real-world fixtures' expected verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Compliance {
    /// `COMPLIANT`
    #[serde(rename = "COMPLIANT")]
    Compliant,
    /// `NON_COMPLIANT`
    #[serde(rename = "NON_COMPLIANT")]
    NonCompliant,
    /// `NOT_APPLICABLE`
    #[serde(rename = "NOT_APPLICABLE")]
    NotApplicable,
}

impl Compliance {
    /// The value Config uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason for a verdict: which statement, which principal, which action, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// The document, where the resource holds several (`policy "Name"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// The statement: `"Sid"` or `#index`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The principal the grant reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The action (`kms:Decrypt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The pattern that matched the action, when it is not the action itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Why this is a finding: `without kms:ViaService`, `on all keys`, a parse error, ...
    pub reason: String,
    /// The exception that covers it, or the expired one that would have (SPEC section 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<Applied>,
}

impl Cause {
    /// A cause with only a reason (parse errors, unreadable policies).
    pub fn because(reason: impl Into<String>) -> Cause {
        Cause {
            document: None,
            statement: None,
            principal: None,
            action: None,
            pattern: None,
            reason: reason.into(),
            exception: None,
        }
    }

    /// Covered by an exception that has not expired?
    pub fn is_excepted(&self) -> bool {
        self.exception.as_ref().is_some_and(Applied::covers)
    }

    /// Sets the document.
    pub fn in_document(mut self, document: Option<&str>) -> Cause {
        self.document = document.map(str::to_owned);
        self
    }

    /// A policy document that does not parse (fail closed): `policy does not parse: <error>`
    /// for the resource's one document, or `does not parse: <error>` in the named `document`
    /// (displayed `policy "<document>": does not parse: <error>`).
    pub fn unparsed(document: Option<&str>, error: &dyn fmt::Display) -> Cause {
        match document {
            None => Cause::because(format!("policy does not parse: {error}")),
            Some(name) => Cause::because(format!("does not parse: {error}")).in_document(Some(name)),
        }
    }
}

/// Where a cause points: `policy "<document>" stmt <statement>`, either part alone, or nothing.
pub fn place(document: Option<&str>, statement: Option<&str>) -> String {
    Place { document, statement }.to_string()
}

/// [`place`], written straight into a formatter: every annotation names its cause's place, and
/// building the parts as strings first took several allocations a cause.
struct Place<'a> {
    document: Option<&'a str>,
    statement: Option<&'a str>,
}

/// Written a piece of text at a time (`write_str`), here and in [`Cause`]'s `Display`: the
/// text is the same as `write!` makes, without each `{}` of a string going through the
/// formatter's padding (`Formatter::pad`: 0.8% of the 100 MB snapshot's instructions, writing
/// the annotations of its NON_COMPLIANT evaluations; callgrind, issue 18).
impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(document) = self.document {
            f.write_str("policy \"")?;
            f.write_str(document)?;
            f.write_str("\"")?;
        }
        if let Some(statement) = self.statement {
            f.write_str(if self.document.is_some() { " stmt " } else { "stmt " })?;
            f.write_str(statement)?;
        }
        Ok(())
    }
}

/// `policy "P" stmt "Sid": <principal> may <action> (via "<pattern>") <reason>`, then
/// `(excepted until <date>)` or `(exception expired on <date>)` when an exception matched.
impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.document.is_some() || self.statement.is_some() {
            fmt::Display::fmt(&Place { document: self.document.as_deref(), statement: self.statement.as_deref() }, f)?;
            f.write_str(": ")?;
        }
        match (&self.principal, &self.action) {
            (Some(principal), Some(action)) => {
                f.write_str(principal)?;
                f.write_str(" may ")?;
                f.write_str(action)?;
            }
            (None, Some(action)) => {
                f.write_str("allows ")?;
                f.write_str(action)?;
            }
            (Some(principal), None) => f.write_str(principal)?,
            (None, None) => {}
        }
        if let Some(pattern) = &self.pattern {
            f.write_str(" (via \"")?;
            f.write_str(pattern)?;
            f.write_str("\")")?;
        }
        if self.principal.is_some() || self.action.is_some() {
            f.write_str(" ")?;
        }
        f.write_str(&self.reason)?;
        match &self.exception {
            None => Ok(()),
            Some(a) if a.expired => write!(f, " (exception expired on {})", a.expires),
            Some(a) => write!(f, " (excepted until {})", a.expires),
        }
    }
}

/// The decision on one resource and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The compliance reported to Config.
    pub compliance: Compliance,
    /// Every cause, first the one the annotation names. A COMPLIANT verdict may list advisory
    /// causes (readiness with `requireConfusedDeputyConditions=false`); Config never sees them.
    pub causes: Vec<Cause>,
    /// How the annotation summarises the causes.
    #[serde(skip)]
    pub style: AnnotationStyle,
}

/// How an annotation summarises a verdict's causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnotationStyle {
    /// The first cause, and how many more (every rule but readiness).
    #[default]
    FirstCause,
    /// As many causes as fit in 256 characters (readiness: every unmet requirement counts).
    AsManyAsFit,
    /// Every cause is covered by an exception: `excepted until <date>: <reason>`
    /// ([`crate::exceptions`]).
    Excepted,
}

/// One line of a rule's checklist (the readiness rule's `precheck` view): a requirement,
/// whether it is met, and what to change when it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What must hold.
    pub requirement: String,
    /// Whether it holds.
    pub met: bool,
    /// What to add or change when it does not.
    pub fix: Option<String>,
    /// A policy statement that would meet it, when it is unmet and a statement can.
    pub example: Option<String>,
    /// Which kind of requirement: what the service needs, or a guard against the confused
    /// deputy (`precheck` shows the two apart).
    pub kind: CheckKind,
    /// When unmet, listed but not a reason for NON_COMPLIANT (readiness:
    /// `requireConfusedDeputyConditions=false`).
    pub advisory: bool,
    /// The verdict's causes when unmet, one per offending statement; when empty, the fix (or
    /// the requirement) is the one cause.
    pub causes: Vec<Cause>,
}

/// The kinds of requirement a checklist holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// What the service needs to work at all: key settings, grants, encryption context.
    ServiceNeeds,
    /// What keeps other accounts from using the key through the service: every grant to the
    /// service principal carries a confused-deputy condition.
    ConfusedDeputy,
}

impl CheckKind {
    /// The heading `precheck` shows: `the service needs`, `guard against the confused deputy`.
    pub fn label(self) -> &'static str {
        match self {
            CheckKind::ServiceNeeds => "the service needs",
            CheckKind::ConfusedDeputy => "guard against the confused deputy",
        }
    }
}

impl Check {
    /// The causes this check contributes to a verdict: none when met; otherwise its own
    /// causes, or one made of its fix (or requirement).
    pub fn verdict_causes(&self) -> Vec<Cause> {
        match (self.met, self.causes.is_empty()) {
            (true, _) => Vec::new(),
            (false, false) => self.causes.clone(),
            (false, true) => vec![Cause::because(self.fix.as_deref().unwrap_or(&self.requirement))],
        }
    }
}

/// A rule's checklist view: every requirement for one resource, met or not.
pub type Checklist = fn(&Resource, &Params) -> Vec<Check>;

/// Config's annotation limit, in characters.
pub const ANNOTATION_LIMIT: usize = 256;

impl Verdict {
    /// COMPLIANT, no causes.
    pub fn compliant() -> Verdict {
        Verdict { compliance: Compliance::Compliant, causes: Vec::new(), style: AnnotationStyle::FirstCause }
    }

    /// NOT_APPLICABLE, with the reason.
    pub fn not_applicable(reason: impl Into<String>) -> Verdict {
        Verdict {
            compliance: Compliance::NotApplicable,
            causes: vec![Cause::because(reason)],
            style: AnnotationStyle::FirstCause,
        }
    }

    /// NON_COMPLIANT with these causes; COMPLIANT when there are none.
    pub fn from_causes(causes: Vec<Cause>) -> Verdict {
        match causes.is_empty() {
            true => Verdict::compliant(),
            false => Verdict { compliance: Compliance::NonCompliant, causes, style: AnnotationStyle::FirstCause },
        }
    }

    /// NOT_APPLICABLE because exceptions cover every cause ([`crate::exceptions`])?
    pub fn is_excepted(&self) -> bool {
        self.style == AnnotationStyle::Excepted
    }

    /// As [`Verdict::from_causes`], with an annotation listing as many causes as fit.
    pub fn listing(causes: Vec<Cause>) -> Verdict {
        Verdict { style: AnnotationStyle::AsManyAsFit, ..Verdict::from_causes(causes) }
    }

    /// The annotation: the first cause (and how many more), at most 256 characters, cut at a
    /// character boundary with `…`. COMPLIANT verdicts have none (Config rejects an empty one).
    pub fn annotation(&self) -> Option<String> {
        if self.compliance == Compliance::Compliant {
            return None;
        }
        if self.style == AnnotationStyle::Excepted {
            return crate::exceptions::excepted_annotation(&self.causes).map(|t| truncated(t, ANNOTATION_LIMIT));
        }
        // Causes an exception covers are not what the annotation reports; it counts them.
        let open: Vec<&Cause> = self.causes.iter().filter(|c| !c.is_excepted()).collect();
        let excepted = self.causes.len() - open.len();
        // Written into room for a whole annotation: grown from empty, a cause's text was moved
        // about three times as it was written (the dry-run writes one for every NON_COMPLIANT
        // evaluation).
        let cause = open.first()?;
        let mut first = String::with_capacity(ANNOTATION_LIMIT + 64);
        // Writing to a `String` fails only where a `Display` does, which a cause's never does;
        // were it to, `to_string` (what was called before) says so.
        let first = match fmt::Write::write_fmt(&mut first, format_args!("{cause}")) {
            Ok(()) => first,
            Err(_) => cause.to_string(),
        };
        if self.style == AnnotationStyle::AsManyAsFit {
            let tail = match excepted {
                0 => String::new(),
                n => format!("; {n} excepted"),
            };
            return Some(as_many_as_fit(&open, &tail));
        }
        let more = open.len().saturating_sub(1);
        let text = match (more, excepted) {
            (0, 0) => first,
            (n, 0) => format!("{first} (+{n} more)"),
            (0, e) => format!("{first} ({e} excepted)"),
            (n, e) => format!("{first} (+{n} more, {e} excepted)"),
        };
        Some(truncated(text, ANNOTATION_LIMIT))
    }
}

/// Causes joined with `; ` while they fit in the limit with `tail` after them, then `; +N more`
/// for the rest (the first cause is always there, cut if it alone is too long).
fn as_many_as_fit(causes: &[&Cause], tail: &str) -> String {
    let texts: Vec<String> = causes.iter().map(ToString::to_string).collect();
    for shown in (1..=texts.len()).rev() {
        let mut text = texts.get(..shown).unwrap_or_default().join("; ");
        let rest = texts.len() - shown;
        if rest > 0 {
            text.push_str(&format!("; +{rest} more"));
        }
        text.push_str(tail);
        if text.chars().count() <= ANNOTATION_LIMIT {
            return text;
        }
    }
    truncate(texts.first().map(String::as_str).unwrap_or_default(), ANNOTATION_LIMIT)
}

/// Cuts `text` to at most `limit` characters, ending with `…` when cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    cut(text, limit)
}

/// [`truncate`], for text already owned: handed back as it is when it fits.
fn truncated(text: String, limit: usize) -> String {
    match text.chars().count() <= limit {
        true => text,
        false => cut(&text, limit),
    }
}

/// The first `limit - 1` characters of `text` and `…`.
fn cut(text: &str, limit: usize) -> String {
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Comma list of action patterns (`kms:Decrypt,kms:ReEncrypt*`).
    ActionPatterns,
    /// Comma list of ARN patterns (`arn:aws:iam::*:role/Admin*`).
    ArnPatterns,
    /// Comma list of condition keys (`kms:ViaService,kms:CallerAccount`).
    ConditionKeys,
    /// Comma list of service endpoint patterns (`s3.*.amazonaws.com`).
    ServicePatterns,
    /// `true` or `false`, case-insensitive.
    Bool,
    /// Free text (an IAM role name).
    Text,
    /// Comma list of KMS key ids or key ARNs.
    KeyIds,
    /// A 12-digit AWS account id (or empty).
    AccountId,
    /// Comma list of names from a fixed set.
    Choices(&'static [&'static str]),
    /// One tag as `key=value` (or empty): the key is everything before the first `=`.
    Tag,
    /// Where the exceptions file is: `s3://bucket/key` or `ssm:<parameter name>` (or empty).
    ExceptionsUri,
}

/// A parameter a rule declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name in `ruleParameters`.
    pub name: &'static str,
    /// Its kind.
    pub kind: ParamKind,
    /// The default, as Config would pass it (empty: no value).
    pub default: &'static str,
    /// One line for `kms-guardrails rules` and the README.
    pub description: &'static str,
}

impl ParamSpec {
    /// The declaration of `name`: its kind, its default (empty: no value) and its one-line
    /// description, in the order of the fields.
    pub const fn new(
        name: &'static str,
        kind: ParamKind,
        default: &'static str,
        description: &'static str,
    ) -> ParamSpec {
        ParamSpec { name, kind, default, description }
    }
}

/// Every rule id of kms-guardrails, in SPEC order (the registry, `kms_guardrails::ALL`, holds
/// the rules; `tests/rules.rs` checks the two agree). An exceptions file is checked against it
/// wherever it is read (`--exceptions`, `exceptions check`, a rule's own binary, a Lambda
/// function, which knows only its own rule otherwise), so that a misspelt rule is refused
/// everywhere alike rather than excepting nothing in silence.
pub const RULE_IDS: [&str; 8] = [
    "iam-customer-policy-blocked-kms-actions",
    "iam-inline-policy-blocked-kms-actions",
    "kms-key-policy-via-service-required",
    "kms-no-wildcard-admin",
    "kms-admin-use-separation",
    "kms-key-policy-service-principal-conditions",
    "kms-key-policy-no-public-access",
    "kms-key-service-readiness",
];

/// Accepted by every rule: the role to assume in the member account (SPEC section 5).
pub const EXECUTION_ROLE_NAME: ParamSpec = ParamSpec::new(
    "executionRoleName",
    ParamKind::Text,
    "",
    "IAM role name to assume in the evaluated account (organization deployments)",
);

/// The parameters every rule takes besides its own.
pub const EVERY_RULE: [&ParamSpec; 2] = [&EXECUTION_ROLE_NAME, &EXCEPTIONS_URI];

/// Accepted by every rule: where the function reads the exceptions file (SPEC section 8), with
/// its own role, so that one file serves an organization. The dry-run takes the file itself
/// (`--exceptions FILE`) and refuses this parameter ([`Rule::check_offline`]).
pub const EXCEPTIONS_URI: ParamSpec = ParamSpec::new(
    "exceptionsUri",
    ParamKind::ExceptionsUri,
    "",
    "exceptions file, read with the function's own role: s3://bucket/key or ssm:<parameter name>",
);

/// What a function calls, with its own role, to read the file [`EXCEPTIONS_URI`] names: one
/// of them, and only when the parameter is given (the templates grant it on that object or
/// parameter only).
pub const EXCEPTIONS_READ_CALLS: [&str; 2] = ["s3:GetObject", "ssm:GetParameter"];

/// Where an exceptions file is, as [`EXCEPTIONS_URI`] gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExceptionsSource {
    /// An S3 object.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// An SSM parameter, by name (or ARN).
    Ssm(String),
}

impl ExceptionsSource {
    /// `s3://bucket/key` or `ssm:<name>`.
    pub fn parse(text: &str) -> Option<ExceptionsSource> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/')?;
            return (!bucket.is_empty() && !key.is_empty())
                .then(|| ExceptionsSource::S3 { bucket: bucket.to_owned(), key: key.to_owned() });
        }
        let name = text.strip_prefix("ssm:")?;
        (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| ExceptionsSource::Ssm(name.to_owned()))
    }
}

impl fmt::Display for ExceptionsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExceptionsSource::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            ExceptionsSource::Ssm(name) => write!(f, "ssm:{name}"),
        }
    }
}

/// A value that a rule needs under some parameters and that the Lambda function gets from AWS
/// when its own parameter is empty, while an offline run (the dry-run) cannot: there the
/// parameter must be given ([`Rule::check_offline`]). The Lambda shell makes the call
/// (`runtime`), and the function's role grants it ([`Rule::api_calls`]). A rule takes part by
/// declaring the flag parameter `when`; [`FROM_AWS`] lists every such value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromAws {
    /// The `Bool` parameter under which the value is needed (`excludeRoleByManagementAccount`).
    pub when: &'static str,
    /// The parameter that gives the value (`managementAccountId`).
    pub param: &'static str,
    /// The resources whose verdict needs it (roles).
    pub resource_types: &'static [ResourceType],
    /// The API call that gets it when `param` is empty (`organizations:DescribeOrganization`).
    pub call: &'static str,
    /// What it is, for messages.
    pub what: &'static str,
    /// What a value looks like, for messages (`<account>`).
    pub placeholder: &'static str,
}

impl FromAws {
    /// Is the value needed (`when` is true) and not given (`param` is empty)?
    pub fn to_fetch(&self, params: &Params) -> bool {
        params.flag(self.when) && params.text(self.param).is_none()
    }
}

/// The organization's management account, for `excludeRoleByManagementAccount`: given as
/// `managementAccountId`, or read with `organizations:DescribeOrganization` (`MasterAccountId`).
pub const MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS: FromAws = FromAws {
    when: "excludeRoleByManagementAccount",
    param: "managementAccountId",
    resource_types: &[ResourceType::IamRole],
    call: "organizations:DescribeOrganization",
    what: "the organization's management account",
    placeholder: "<account>",
};

/// Every value the Lambda shell knows how to get from AWS.
pub const FROM_AWS: &[FromAws] = &[MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS];

/// A parsed parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A list (possibly empty).
    List(Vec<String>),
    /// A boolean.
    Bool(bool),
    /// Text (possibly empty).
    Text(String),
}

/// A rule's parameters, checked against its declaration, defaults filled in.
///
/// Kept as a list in the declaration's order, one entry a declared name, and looked up by
/// name: a rule has a handful, and the dry-run looks them up for every resource a rule judges
/// (a `BTreeMap` took some 150 instructions a look-up, comparing names byte by byte: 1% of the
/// 100 MB snapshot's instructions, callgrind, issue 18).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params {
    values: Vec<(&'static str, ParamValue)>,
}

/// Why parameters were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A name the rule does not declare.
    #[error("rule `{rule}` has no parameter `{name}` (it takes: {known})")]
    Unknown {
        /// The rule.
        rule: &'static str,
        /// The unknown name.
        name: String,
        /// The names it takes.
        known: String,
    },
    /// A value of the wrong shape.
    #[error("rule `{rule}` parameter `{name}`: `{value}` {problem}")]
    Invalid {
        /// The rule.
        rule: &'static str,
        /// The parameter.
        name: &'static str,
        /// The offending value (one list element, or the whole value).
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// `ruleParameters` is not a JSON object of strings.
    #[error("rule parameters must be a JSON object of strings: {0}")]
    Shape(String),
    /// Offline, a value the Lambda function would get from AWS is not given ([`FromAws`]).
    #[error("rule `{rule}` parameter `{when}` is `true` but `{param}` is empty: the Lambda function asks AWS ({call}) for {what}, the dry-run cannot; pass --param {rule}.{param}={placeholder}")]
    NeededOffline {
        /// The rule.
        rule: &'static str,
        /// The flag that needs the value.
        when: &'static str,
        /// The parameter that gives it.
        param: &'static str,
        /// The call Lambda would make.
        call: &'static str,
        /// What the value is.
        what: &'static str,
        /// What a value looks like.
        placeholder: &'static str,
    },
    /// Offline, `exceptionsUri` is given: the dry-run reads no S3 or SSM.
    #[error("rule `{rule}` parameter `exceptionsUri` is for the Lambda function, which reads `{uri}` with its own role; the dry-run reads no S3 or SSM: download the file and pass --exceptions FILE")]
    ExceptionsUriOffline {
        /// The rule.
        rule: &'static str,
        /// The value given.
        uri: String,
    },
}

impl Params {
    /// The value of the parameter named `name`. Callers name a parameter by its declaration's
    /// `name`, the very text the list holds, so the first look compares addresses; the second
    /// compares text, for a name given another way.
    fn get(&self, name: &str) -> Option<&ParamValue> {
        let by_address = self.values.iter().find(|(declared, _)| std::ptr::eq(*declared, name));
        by_address.or_else(|| self.values.iter().find(|(declared, _)| *declared == name)).map(|(_, value)| value)
    }

    /// A boolean parameter (false when not declared).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(ParamValue::Bool(true)))
    }

    /// A list parameter (empty when not declared or not set).
    pub fn list(&self, name: &str) -> &[String] {
        match self.get(name) {
            Some(ParamValue::List(items)) => items,
            _ => &[],
        }
    }

    /// A text parameter (`None` when empty or not declared).
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(ParamValue::Text(t)) if !t.is_empty() => Some(t),
            _ => None,
        }
    }
}

/// What a rule may consult besides the resource: its parameters, and a resolver for the other
/// resources its verdict depends on.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The checked parameters.
    pub params: &'a Params,
    /// Resolves attached managed policies and groups.
    pub resolver: &'a dyn Resolver,
}

/// A rule: declared metadata plus one pure function.
#[derive(Debug)]
pub struct Rule {
    /// The rule id: crate directory, binary name and default Config rule name.
    pub id: &'static str,
    /// One line: what it flags.
    pub summary: &'static str,
    /// The resource types it evaluates (its Config scope).
    pub resource_types: &'static [ResourceType],
    /// The parameters it declares, with defaults.
    pub parameters: &'static [ParamSpec],
    /// What its verdict reads besides the item: other resources make it also run periodically
    /// ([`Rule::periodic`]) and fetch them ([`Rule::api_calls`]).
    pub reads: Reads,
    /// Memory and timeout of its Lambda function (the templates read them).
    pub function: FunctionSize,
    /// How it treats AWS managed keys and keys pending deletion.
    pub inactive_keys: InactiveKeys,
    /// The pure decision, for resources in scope that exist.
    pub evaluate: fn(&Resource, &Context<'_>) -> Verdict,
}

impl Rule {
    /// Does it also run periodically? When it reads other resources ([`Reads::Attachments`]).
    pub fn periodic(&self) -> bool {
        self.reads == Reads::Attachments
    }

    /// A rule run on configuration changes only ([`Reads::Item`]): one item an invocation
    /// ([`FunctionSize::ONE_ITEM`]), AWS managed keys and keys pending deletion NOT_APPLICABLE
    /// ([`InactiveKeys::NotApplicable`]). Six of the eight rules are of this kind; the others
    /// set every field themselves.
    pub const fn on_change(
        id: &'static str,
        summary: &'static str,
        resource_types: &'static [ResourceType],
        parameters: &'static [ParamSpec],
        evaluate: fn(&Resource, &Context<'_>) -> Verdict,
    ) -> Rule {
        Rule {
            id,
            summary,
            resource_types,
            parameters,
            reads: Reads::Item,
            function: FunctionSize::ONE_ITEM,
            inactive_keys: InactiveKeys::NotApplicable,
            evaluate,
        }
    }

    /// A rule that judges KMS keys (their policies) alone, run on configuration changes: as
    /// [`Rule::on_change`] for [`ResourceType::KmsKey`]. Three of the key-policy rules.
    pub const fn on_key_change(
        id: &'static str,
        summary: &'static str,
        parameters: &'static [ParamSpec],
        evaluate: fn(&Resource, &Context<'_>) -> Verdict,
    ) -> Rule {
        Rule::on_change(id, summary, &[ResourceType::KmsKey], parameters, evaluate)
    }
}

/// What a rule's verdict reads besides the item it judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The item alone (for a key, with its key policy, which Config records with it).
    Item,
    /// Also the managed policies a user or role attaches and the groups a user is in: other
    /// resources, fetched from IAM by the Lambda function. Editing a managed policy changes no
    /// role's item, so such a rule also runs periodically (SPEC section 5).
    Attachments,
}

/// What a rule's Lambda function is given: `MemorySize` and `Timeout` in the templates.
///
/// Lambda accepts 128 to 10,240 MB and 1 to 900 seconds, and gives a function CPU in proportion
/// to its memory (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>,
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSize {
    /// `MemorySize`, in MB.
    pub memory_mb: u16,
    /// `Timeout`, in seconds.
    pub timeout_seconds: u16,
}

impl FunctionSize {
    /// A rule that runs only on change notifications: one item an invocation, judged in well
    /// under a millisecond (BENCHMARKS.md), and at most a handful of calls (the item's history
    /// when oversized, the key policy, AssumeRole, PutEvaluations). 256 MB holds the largest
    /// item Config records; 60 seconds leaves room for the SDK's standard retries (3 attempts
    /// with backoff) on each of those calls when Config or KMS throttles.
    pub const ONE_ITEM: FunctionSize = FunctionSize { memory_mb: 256, timeout_seconds: 60 };

    /// A rule that also runs on a schedule: one invocation pages through every recorded
    /// resource of its types (SPEC section 5: 5,000 roles in an account, each with its attached
    /// managed policies fetched), so it gets Lambda's longest timeout, and memory for every item
    /// and fetched policy of such an account at once plus the CPU (proportional to memory) to
    /// decode them while the fetches run concurrently.
    pub const PERIODIC: FunctionSize = FunctionSize { memory_mb: 1024, timeout_seconds: 900 };
}

/// How a rule treats AWS managed keys and keys pending deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InactiveKeys {
    /// NOT_APPLICABLE (every rule but readiness).
    NotApplicable,
    /// The rule decides (readiness: a named key that is AWS managed or pending deletion fails).
    Evaluate,
}

impl Rule {
    /// Checks Config `ruleParameters` (a JSON object of strings) against the declaration and
    /// fills in defaults. Unknown names and malformed values are errors, never ignored.
    pub fn parse_params(&self, raw: &BTreeMap<String, String>) -> Result<Params, ParamError> {
        let known = || self.parameters.iter().chain(EVERY_RULE).map(|p| p.name).collect::<Vec<_>>().join(", ");
        for name in raw.keys() {
            if !self.parameters.iter().chain(EVERY_RULE).any(|p| p.name == name) {
                return Err(ParamError::Unknown { rule: self.id, name: name.clone(), known: known() });
            }
        }
        let mut values: Vec<(&'static str, ParamValue)> = Vec::new();
        for spec in self.parameters.iter().chain(EVERY_RULE) {
            let given = raw.get(spec.name).map(|v| v.trim()).filter(|v| !v.is_empty());
            let value = parse_value(self.id, spec, given.unwrap_or(spec.default))?;
            // A name declared twice (by the rule and among every rule's) keeps one entry, the
            // last declaration's value, as a map's insert did.
            match values.iter_mut().find(|(name, _)| *name == spec.name) {
                Some(slot) => slot.1 = value,
                None => values.push((spec.name, value)),
            }
        }
        Ok(Params { values })
    }

    /// The values this rule may get from AWS: those of [`FROM_AWS`] whose flag it declares.
    pub fn from_aws(&self) -> impl Iterator<Item = &'static FromAws> + '_ {
        FROM_AWS.iter().filter(|f| self.parameters.iter().any(|p| p.name == f.when))
    }

    /// What an offline run (the dry-run) checks besides [`Rule::parse_params`]: a value the
    /// Lambda function would get from AWS must be given as its parameter, never silently left
    /// unknown.
    pub fn check_offline(&self, params: &Params) -> Result<(), ParamError> {
        if let Some(uri) = params.text(EXCEPTIONS_URI.name) {
            return Err(ParamError::ExceptionsUriOffline { rule: self.id, uri: uri.to_owned() });
        }
        match self.from_aws().find(|f| f.to_fetch(params)) {
            None => Ok(()),
            Some(f) => Err(ParamError::NeededOffline {
                rule: self.id,
                when: f.when,
                param: f.param,
                call: f.call,
                what: f.what,
                placeholder: f.placeholder,
            }),
        }
    }

    /// Parses Config's `ruleParameters` JSON text (absent or empty means no parameters).
    pub fn parse_params_json(&self, text: Option<&str>) -> Result<Params, ParamError> {
        let raw: BTreeMap<String, String> = match text.map(str::trim) {
            None | Some("") => BTreeMap::new(),
            Some(text) => {
                let value: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| ParamError::Shape(e.to_string()))?;
                let object = value.as_object().ok_or_else(|| ParamError::Shape("not an object".into()))?;
                object
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                        serde_json::Value::Bool(b) => Ok((k.clone(), b.to_string())),
                        _ => Err(ParamError::Shape(format!("`{k}` is not a string"))),
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        self.parse_params(&raw)
    }

    /// The AWS API calls this rule's Lambda function makes (`runtime`), for its least-privilege
    /// role: reporting and reading Config for every rule, the key policy for rules that judge
    /// keys, IAM reads for rules that read other resources (`periodic`), and the calls that get
    /// values from AWS ([`Rule::from_aws`]; made only under their parameters, which the
    /// per-account template turns into a condition).
    pub fn api_calls(&self) -> Vec<&'static str> {
        let mut calls = vec![
            "config:BatchGetResourceConfig",
            "config:GetComplianceDetailsByConfigRule",
            "config:GetResourceConfigHistory",
            "config:ListDiscoveredResources",
            "config:PutEvaluations",
        ];
        if self.resource_types.contains(&ResourceType::KmsKey) {
            calls.push("kms:GetKeyPolicy");
        }
        if self.reads == Reads::Attachments {
            calls.extend([
                "iam:GetGroupPolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListAttachedGroupPolicies",
                "iam:ListGroupPolicies",
            ]);
        }
        calls.extend(self.from_aws().map(|f| f.call));
        calls
    }

    /// The defaults, as parameters.
    pub fn default_params(&self) -> Params {
        self.parse_params(&BTreeMap::new()).unwrap_or_default()
    }

    /// The whole decision for one resource: NOT_APPLICABLE outside scope, for deleted
    /// resources, AWS managed keys and keys pending deletion (unless the rule evaluates those);
    /// otherwise the rule's own function.
    pub fn judge(&self, resource: &Resource, ctx: &Context<'_>) -> Verdict {
        let in_scope = resource.resource_type.is_some_and(|t| self.resource_types.contains(&t));
        if !in_scope {
            return Verdict::not_applicable(format!("{} is not evaluated by this rule", resource.type_name()));
        }
        if resource.status.is_deleted() {
            return Verdict::not_applicable("resource was deleted");
        }
        if let (Details::Key(key), InactiveKeys::NotApplicable) = (&resource.details, self.inactive_keys) {
            if key.manager == KeyManager::Aws {
                return Verdict::not_applicable("AWS managed key");
            }
            if key.is_pending_deletion() {
                return Verdict::not_applicable("key is pending deletion");
            }
        }
        (self.evaluate)(resource, ctx)
    }
}

fn parse_value(rule: &'static str, spec: &ParamSpec, text: &str) -> Result<ParamValue, ParamError> {
    let invalid = |value: &str, problem| ParamError::Invalid { rule, name: spec.name, value: value.into(), problem };
    let list = || text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    match spec.kind {
        ParamKind::Bool => match text.to_ascii_lowercase().as_str() {
            "" | "false" => Ok(ParamValue::Bool(false)),
            "true" => Ok(ParamValue::Bool(true)),
            _ => Err(invalid(text, "is not `true` or `false`")),
        },
        ParamKind::Text => Ok(ParamValue::Text(text.to_owned())),
        ParamKind::ActionPatterns => {
            let items = list();
            for item in &items {
                let valid_chars = item.bytes().all(|b| b.is_ascii_alphanumeric() || b"*?:-".contains(&b));
                if item != "*" && (!item.contains(':') || !valid_chars) {
                    return Err(invalid(item, "is not an action pattern like `kms:Decrypt` or `kms:*`"));
                }
            }
            Ok(ParamValue::List(items))
        }
        ParamKind::ArnPatterns => {
            let items = list();
            for item in &items {
                if item != "*" && !item.starts_with("arn:") {
                    return Err(invalid(item, "is not an ARN pattern (it must start with `arn:`)"));
                }
            }
            Ok(ParamValue::List(items))
        }
        ParamKind::ConditionKeys => {
            let items = list();
            for item in &items {
                let ok = item.split_once(':').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                    && !item.contains(char::is_whitespace);
                if !ok {
                    return Err(invalid(item, "is not a condition key like `kms:ViaService`"));
                }
            }
            Ok(ParamValue::List(items))
        }
        ParamKind::KeyIds => {
            let items = list();
            for item in &items {
                let id = match item.starts_with("arn:") {
                    true => Arn::parse(item)
                        .ok()
                        .filter(|a| a.service == "kms")
                        .and_then(|a| a.resource.strip_prefix("key/")),
                    false => Some(item.as_str()),
                };
                let valid =
                    id.is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                if !valid {
                    return Err(invalid(item, "is not a KMS key id or key ARN"));
                }
            }
            Ok(ParamValue::List(items))
        }
        ParamKind::AccountId => {
            if !text.is_empty() && !is_account_id(text) {
                return Err(invalid(text, "is not a 12-digit AWS account id"));
            }
            Ok(ParamValue::Text(text.to_owned()))
        }
        ParamKind::Choices(choices) => {
            let items: Vec<String> = list().into_iter().map(|i| i.to_ascii_lowercase()).collect();
            for item in &items {
                if !choices.contains(&item.as_str()) {
                    return Err(invalid(item, "is not one of the accepted names"));
                }
            }
            Ok(ParamValue::List(items))
        }
        ParamKind::Tag => {
            let valid = text.is_empty() || text.split_once('=').is_some_and(|(key, _)| !key.trim().is_empty());
            if !valid {
                return Err(invalid(text, "is not a tag as `key=value`"));
            }
            Ok(ParamValue::Text(text.to_owned()))
        }
        ParamKind::ExceptionsUri => match text.is_empty() || ExceptionsSource::parse(text).is_some() {
            true => Ok(ParamValue::Text(text.to_owned())),
            false => Err(invalid(text, "is not `s3://bucket/key` or `ssm:<parameter name>`")),
        },
        ParamKind::ServicePatterns => {
            let items = list();
            for item in &items {
                if item.contains(char::is_whitespace) || item.contains(':') {
                    return Err(invalid(item, "is not a service endpoint pattern like `s3.*.amazonaws.com`"));
                }
            }
            Ok(ParamValue::List(items))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A place names the parts it has, separated by a space; nothing without either.
    #[test]
    fn a_place_names_the_parts_it_has() {
        assert_eq!(place(Some("P"), Some("\"S\"")), "policy \"P\" stmt \"S\"");
        assert_eq!(place(Some("P"), None), "policy \"P\"");
        assert_eq!(place(None, Some("#1")), "stmt #1");
        assert_eq!(place(None, None), "");
        assert_eq!(place(Some(""), Some("")), "policy \"\" stmt ");
        let cause = Cause::because("reason").in_document(Some("P"));
        assert_eq!(cause.to_string(), "policy \"P\": reason");
        assert_eq!(Cause::because("reason").to_string(), "reason");
    }

    fn cause() -> Cause {
        Cause {
            document: None,
            statement: Some("\"UseKey\"".into()),
            principal: Some("arn:aws:iam::111122223333:role/App".into()),
            action: Some("kms:Decrypt".into()),
            pattern: None,
            reason: "without kms:ViaService".into(),
            exception: None,
        }
    }

    #[test]
    fn annotation_reads_like_the_spec() {
        let verdict = Verdict::from_causes(vec![cause()]);
        assert_eq!(
            verdict.annotation().as_deref(),
            Some("stmt \"UseKey\": arn:aws:iam::111122223333:role/App may kms:Decrypt without kms:ViaService")
        );
        assert_eq!(Verdict::compliant().annotation(), None);
    }

    #[test]
    fn annotation_is_cut_at_256_characters() {
        let mut long = cause();
        long.reason = "é".repeat(400);
        let text = Verdict::from_causes(vec![long.clone(), long]).annotation().unwrap_or_default();
        assert_eq!(text.chars().count(), 256);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn tags_are_key_equals_value() {
        let spec = ParamSpec::new("keyTag", ParamKind::Tag, "", "");
        let parse = |text: &str| parse_value("r", &spec, text);
        assert_eq!(parse("Purpose=logs"), Ok(ParamValue::Text("Purpose=logs".into())));
        assert_eq!(parse("Purpose="), Ok(ParamValue::Text("Purpose=".into())), "tag values may be empty");
        assert_eq!(parse("a=b=c"), Ok(ParamValue::Text("a=b=c".into())));
        assert_eq!(parse(""), Ok(ParamValue::Text(String::new())));
        assert!(parse("Purpose").is_err());
        assert!(parse("=logs").is_err());
    }

    #[test]
    fn a_parameter_reads_the_same_by_its_declared_name_and_by_the_same_text_made_anew() {
        const FLAG: ParamSpec = ParamSpec::new("flagIt", ParamKind::Bool, "false", "");
        const EMPTY: ParamSpec = ParamSpec::new("names", ParamKind::Text, "", "");
        const TEXT: ParamSpec = ParamSpec::new("label", ParamKind::Text, "none", "");
        let rule = Rule {
            id: "r",
            summary: "",
            resource_types: &[ResourceType::IamRole],
            parameters: &[FLAG, EMPTY, TEXT],
            reads: Reads::Item,
            function: FunctionSize::ONE_ITEM,
            inactive_keys: InactiveKeys::NotApplicable,
            evaluate: |_, _| Verdict::compliant(),
        };
        let raw = [("flagIt", "true"), ("label", "Purpose")].iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let params = rule.parse_params(&raw.collect()).expect("declared parameters");
        // The declared names, and the same texts at other addresses (as a caller building a
        // name would give them).
        let made = |name: &str| name.chars().collect::<String>();
        assert!(params.flag(FLAG.name));
        assert!(params.flag(&made(FLAG.name)));
        assert_eq!(params.text(TEXT.name), Some("Purpose"));
        assert_eq!(params.text(&made(TEXT.name)), Some("Purpose"));
        assert_eq!(params.text(EMPTY.name), None, "empty by default");
        assert!(!params.flag(&made("undeclared")));
        assert_eq!(
            params,
            rule.parse_params(
                &[("label", "Purpose"), ("flagIt", "true")]
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            )
            .expect("declared parameters"),
            "the order given does not matter"
        );
    }

    #[test]
    fn a_value_lambda_gets_from_aws_must_be_given_offline() {
        const FLAG: ParamSpec =
            ParamSpec::new(MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS.when, ParamKind::Bool, "false", "");
        const ACCOUNT: ParamSpec =
            ParamSpec::new(MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS.param, ParamKind::AccountId, "", "");
        let rule = |parameters: &'static [ParamSpec]| Rule {
            id: "r",
            summary: "",
            resource_types: &[ResourceType::IamRole],
            parameters,
            reads: Reads::Item,
            function: FunctionSize::ONE_ITEM,
            inactive_keys: InactiveKeys::NotApplicable,
            evaluate: |_, _| Verdict::compliant(),
        };
        let with_flag = rule(&[FLAG]);
        let with_both = rule(&[FLAG, ACCOUNT]);
        let params = |rule: &Rule, pairs: &[(&str, &str)]| {
            rule.parse_params(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
                .unwrap_or_default()
        };
        assert_eq!(with_flag.from_aws().count(), 1);
        assert_eq!(rule(&[]).from_aws().count(), 0, "a rule that declares no flag gets nothing from AWS");
        assert!(with_flag.api_calls().contains(&"organizations:DescribeOrganization"));
        assert!(!rule(&[]).api_calls().contains(&"organizations:DescribeOrganization"));

        let on = params(&with_both, &[("excludeRoleByManagementAccount", "TRUE")]);
        assert_eq!(
            with_both.check_offline(&on).map_err(|e| e.to_string()),
            Err("rule `r` parameter `excludeRoleByManagementAccount` is `true` but `managementAccountId` is empty: the Lambda function asks AWS (organizations:DescribeOrganization) for the organization's management account, the dry-run cannot; pass --param r.managementAccountId=<account>".to_owned())
        );
        let given =
            params(&with_both, &[("excludeRoleByManagementAccount", "true"), ("managementAccountId", "444455556666")]);
        assert_eq!(with_both.check_offline(&given), Ok(()));
        assert_eq!(with_both.check_offline(&with_both.default_params()), Ok(()), "the flag is off by default");
    }

    #[test]
    fn listing_annotations_hold_as_many_causes_as_fit() {
        let causes: Vec<Cause> =
            (0..20).map(|i| Cause::because(format!("requirement number {i} is not met"))).collect();
        let text = Verdict::listing(causes).annotation().unwrap_or_default();
        assert!(text.chars().count() <= 256, "{text}");
        assert!(text.starts_with("requirement number 0 is not met; requirement number 1 is not met; "));
        assert!(text.ends_with(" more"), "{text}");
        let two = Verdict::listing(vec![Cause::because("a"), Cause::because("b")]);
        assert_eq!(two.annotation().as_deref(), Some("a; b"));
    }
}
