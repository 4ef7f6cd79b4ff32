//! A template rendered as CloudFormation would: parameters checked against their declarations
//! (defaults, `AllowedValues`, `MinLength`, `MaxLength`), conditions evaluated, and each
//! deployed resource's properties resolved (`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`,
//! `AWS::NoValue`, `Fn::Select`, `Fn::Split`). The quota tests measure what this yields; the moto test sends the Config
//! rules it yields to `PutConfigRule`, since moto's CloudFormation has no
//! `AWS::Config::ConfigRule`. `AllowedPattern` is left to cfn-lint and CloudFormation (no
//! regex engine here); the patterns are checked against the defaults by cfn-lint.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// One deployed resource: its type and resolved properties.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
}

/// Where a stack is deployed.
pub struct Place<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

/// The resources `template` deploys with `given` parameters at `place`, by logical id.
pub fn render(
    template: &Value,
    given: &[(&str, &str)],
    place: &Place<'_>,
) -> Result<BTreeMap<String, Resource>, String> {
    let params = parameters(template, given)?;
    let ctx = Ctx { template, params, place };
    let mut out = BTreeMap::new();
    for (id, resource) in template["Resources"].as_object().ok_or("no Resources")? {
        if let Some(condition) = resource.get("Condition").and_then(Value::as_str) {
            if !ctx.condition(condition)? {
                continue;
            }
        }
        let properties = ctx.eval(&resource["Properties"])?.unwrap_or_else(|| json!({}));
        out.insert(id.clone(), Resource { kind: resource["Type"].as_str().unwrap_or_default().to_owned(), properties });
    }
    Ok(out)
}

/// Every declared parameter's value: given, or its default; checked as CloudFormation checks it.
pub fn parameters(template: &Value, given: &[(&str, &str)]) -> Result<BTreeMap<String, String>, String> {
    let declared = template["Parameters"].as_object().cloned().unwrap_or_default();
    for (name, _) in given {
        if !declared.contains_key(*name) {
            return Err(format!("parameter `{name}` is not declared"));
        }
    }
    let mut values = BTreeMap::new();
    for (name, spec) in &declared {
        let value = match given.iter().find(|(n, _)| n == name) {
            Some((_, v)) => (*v).to_owned(),
            None => match &spec["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(format!("parameter `{name}` has no value and no default")),
            },
        };
        let length = value.chars().count();
        if spec["MaxLength"].as_u64().is_some_and(|max| length as u64 > max) {
            return Err(format!("parameter `{name}`: {length} characters, MaxLength {}", spec["MaxLength"]));
        }
        if spec["MinLength"].as_u64().is_some_and(|min| (length as u64) < min) {
            return Err(format!("parameter `{name}`: {length} characters, MinLength {}", spec["MinLength"]));
        }
        if let Some(allowed) = spec["AllowedValues"].as_array() {
            let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            if !allowed.iter().any(|a| text(a) == value) {
                return Err(format!("parameter `{name}`: `{value}` is not an allowed value"));
            }
        }
        values.insert(name.clone(), value);
    }
    Ok(values)
}

struct Ctx<'a> {
    template: &'a Value,
    params: BTreeMap<String, String>,
    place: &'a Place<'a>,
}

impl Ctx<'_> {
    fn condition(&self, name: &str) -> Result<bool, String> {
        let body = &self.template["Conditions"][name];
        if body.is_null() {
            return Err(format!("condition `{name}` is not declared"));
        }
        self.truth(body)
    }

    fn truth(&self, value: &Value) -> Result<bool, String> {
        let object = value.as_object().ok_or_else(|| format!("not a condition: {value}"))?;
        let (function, args) = object.iter().next().ok_or("empty condition")?;
        let list = || args.as_array().cloned().unwrap_or_default();
        match function.as_str() {
            "Condition" => self.condition(args.as_str().unwrap_or_default()),
            "Fn::Equals" => {
                let sides: Vec<Option<Value>> = list().iter().map(|v| self.eval(v)).collect::<Result<_, _>>()?;
                Ok(sides.first() == sides.get(1))
            }
            "Fn::Not" => Ok(!self.truth(list().first().ok_or("Fn::Not without argument")?)?),
            "Fn::And" => list().iter().try_fold(true, |acc, c| Ok(acc && self.truth(c)?)),
            "Fn::Or" => list().iter().try_fold(false, |acc, c| Ok(acc || self.truth(c)?)),
            other => Err(format!("`{other}` in a condition")),
        }
    }

    /// A value resolved; `None` for `AWS::NoValue` (the property is left out).
    fn eval(&self, value: &Value) -> Result<Option<Value>, String> {
        match value {
            Value::Object(map) if map.len() == 1 && map.keys().any(|k| k == "Ref" || k.starts_with("Fn::")) => {
                self.function(map)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(v) = self.eval(v)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.eval(item)?);
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn function(&self, map: &Map<String, Value>) -> Result<Option<Value>, String> {
        let (function, args) = map.iter().next().ok_or("empty function")?;
        match function.as_str() {
            "Ref" if args == "AWS::NoValue" => Ok(None),
            "Ref" => self.reference(args.as_str().unwrap_or_default()).map(|s| Some(json!(s))),
            "Fn::If" => {
                let branches = args.as_array().ok_or("Fn::If without branches")?;
                let chosen = match self.condition(branches.first().and_then(Value::as_str).unwrap_or_default())? {
                    true => branches.get(1),
                    false => branches.get(2),
                };
                self.eval(chosen.ok_or("Fn::If without a branch")?)
            }
            "Fn::GetAtt" => {
                let parts = args.as_array().ok_or("Fn::GetAtt without a list")?;
                let id = parts.first().and_then(Value::as_str).unwrap_or_default();
                let attribute = parts.get(1).and_then(Value::as_str).unwrap_or_default();
                self.attribute(id, attribute).map(|s| Some(json!(s)))
            }
            "Fn::Sub" => match args {
                Value::String(text) => self.substitute(text, &Map::new()).map(|s| Some(json!(s))),
                // `[text, {name: value}]`: the names are resolved first.
                Value::Array(parts) => {
                    let text = parts.first().and_then(Value::as_str).ok_or("Fn::Sub without text")?;
                    let mut names = Map::new();
                    for (name, value) in parts.get(1).and_then(Value::as_object).into_iter().flatten() {
                        names.insert(name.clone(), self.eval(value)?.unwrap_or(Value::Null));
                    }
                    self.substitute(text, &names).map(|s| Some(json!(s)))
                }
                _ => Err("Fn::Sub of neither text nor a list".into()),
            },
            "Fn::Split" => {
                let parts = args.as_array().ok_or("Fn::Split without a list")?;
                let separator = parts.first().and_then(Value::as_str).ok_or("Fn::Split without a separator")?;
                let text = parts.get(1).map(|v| self.eval(v)).transpose()?.flatten();
                let text = text.as_ref().and_then(Value::as_str).ok_or("Fn::Split of a non-string")?;
                Ok(Some(json!(text.split(separator).collect::<Vec<_>>())))
            }
            "Fn::Select" => {
                let parts = args.as_array().ok_or("Fn::Select without a list")?;
                let index = parts.first().and_then(Value::as_u64).ok_or("Fn::Select without an index")? as usize;
                let list = parts.get(1).map(|v| self.eval(v)).transpose()?.flatten();
                // CloudFormation fails the stack on an index past the end.
                let item = list.as_ref().and_then(Value::as_array).and_then(|l| l.get(index).cloned());
                item.map(Some).ok_or_else(|| format!("Fn::Select index {index} past the end of {list:?}"))
            }
            other => Err(format!("`{other}` is not rendered here")),
        }
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        match name {
            "AWS::AccountId" => return Ok(self.place.account.to_owned()),
            "AWS::Region" => return Ok(self.place.region.to_owned()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            _ => {}
        }
        if let Some(value) = self.params.get(name) {
            return Ok(value.clone());
        }
        let resource = &self.template["Resources"][name];
        match resource["Type"].as_str() {
            // What Ref returns for the resources these templates refer to.
            Some("AWS::Lambda::Function") => self.name_of(resource, "FunctionName", name),
            Some(_) => Ok(name.to_owned()),
            None => Err(format!("`{name}` is neither a parameter nor a resource")),
        }
    }

    fn name_of(&self, resource: &Value, property: &str, id: &str) -> Result<String, String> {
        match self.eval(&resource["Properties"][property])? {
            Some(Value::String(s)) => Ok(s),
            _ => Ok(id.to_owned()),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<String, String> {
        let resource = &self.template["Resources"][id];
        let (account, region) = (self.place.account, self.place.region);
        match (resource["Type"].as_str(), attribute) {
            (Some("AWS::Lambda::Function"), "Arn") => Ok(format!(
                "arn:aws:lambda:{region}:{account}:function:{}",
                self.name_of(resource, "FunctionName", id)?
            )),
            (Some("AWS::Logs::LogGroup"), "Arn") => Ok(format!(
                "arn:aws:logs:{region}:{account}:log-group:{}:*",
                self.name_of(resource, "LogGroupName", id)?
            )),
            (Some("AWS::SQS::Queue"), "Arn") => Ok(format!("arn:aws:sqs:{region}:{account}:{id}")),
            (Some("AWS::SQS::Queue"), "QueueName") => Ok(id.to_owned()),
            // CloudFormation names a role with no RoleName after the stack and logical id.
            (Some("AWS::IAM::Role"), "Arn") => {
                Ok(format!("arn:aws:iam::{account}:role/kms-guardrails/stack-{id}-RANDOM"))
            }
            (kind, attribute) => Err(format!("Fn::GetAtt {id}.{attribute} of {kind:?} is not rendered here")),
        }
    }

    fn substitute(&self, text: &str, names: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').ok_or_else(|| format!("unclosed ${{ in `{text}`"))? + start;
            let name = &rest[start + 2..end];
            let value = match (names.get(name), name.split_once('.')) {
                (Some(value), _) => value.as_str().ok_or_else(|| format!("`{name}` is not text"))?.to_owned(),
                (None, Some((id, attribute))) => self.attribute(id, attribute)?,
                (None, None) => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A Config rule's `InputParameters` as CloudFormation sends them: the map as a JSON string.
pub fn input_parameters(properties: &Value) -> Option<String> {
    properties.get("InputParameters").map(Value::to_string)
}
