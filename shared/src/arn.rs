//! Amazon Resource Names, parsed once: `arn:<partition>:<service>:<region>:<account>:<resource>`.
//!
//! Every place that reads a field of an ARN (a resource's account, a principal's partition, the
//! key id of a key ARN) goes through [`Arn::parse`], so the six fields are split one way
//! everywhere. The resource field keeps any further `:` (`arn:aws:logs:...:log-group:x:*`).
//! Parsing is strict about the shape (the literal `arn` and six fields) and lenient about the
//! content: region and account may be empty (`arn:aws:iam::aws:policy/...`, S3 buckets), and
//! a field may hold wildcards when the text is a pattern.
//!
//! Also here: [`is_account_id`], the one test for a 12-digit AWS account id.

use std::fmt;

/// An ARN's six fields, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: &'a str,
    /// `iam`, `kms`, `sts`, ...
    pub service: &'a str,
    /// Empty for global services (IAM).
    pub region: &'a str,
    /// The account field: a 12-digit id, empty (S3 buckets), or `aws` (AWS managed policies).
    pub account: &'a str,
    /// Everything after the fifth `:` (`role/path/Name`, `key/<id>`).
    pub resource: &'a str,
}

/// Why a text is not an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// The first field is not `arn`.
    #[error("does not start with `arn:`")]
    NotAnArn,
    /// Fewer than six `:`-separated fields.
    #[error("has {0} of the 6 fields `arn:<partition>:<service>:<region>:<account>:<resource>`")]
    MissingFields(usize),
}

impl<'a> Arn<'a> {
    /// Splits `text` into its six fields.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, ArnError> {
        // As `text.splitn(6, ':')` splits it, byte by byte: ARNs are parsed for every rule on
        // every resource, and the general splitter took several hundred instructions an ARN.
        let mut rest = Some(text);
        let mut fields = std::iter::from_fn(|| {
            let field = rest.take()?;
            match field.bytes().position(|b| b == b':') {
                // `:` is one byte, so both sides are on character boundaries.
                Some(at) => {
                    rest = field.get(at + 1..);
                    field.get(..at)
                }
                None => Some(field),
            }
        });
        if fields.next() != Some("arn") {
            return Err(ArnError::NotAnArn);
        }
        let mut next = || fields.next();
        let (partition, service, region, account) = (next(), next(), next(), next());
        let resource = rest.take();
        match (partition, service, region, account, resource) {
            (Some(partition), Some(service), Some(region), Some(account), Some(resource)) => {
                Ok(Arn { partition, service, region, account, resource })
            }
            (partition, service, region, account, _) => {
                let present = [partition, service, region, account].iter().filter(|f| f.is_some()).count();
                Err(ArnError::MissingFields(1 + present))
            }
        }
    }

    /// The last `/`-separated segment of the resource: a role's or user's name without its
    /// path (`Name` of `role/path/Name`); the whole resource when it has no `/`.
    pub fn resource_name(&self) -> &'a str {
        // `rsplit` always yields a first piece (the whole resource when there is no `/`).
        self.resource.rsplit('/').next().unwrap_or(self.resource)
    }
}

impl fmt::Display for Arn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Arn { partition, service, region, account, resource } = self;
        write!(f, "arn:{partition}:{service}:{region}:{account}:{resource}")
    }
}

/// Is `text` a 12-digit AWS account id (digits only, no wildcard)?
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ARN as `splitn(6, ':')` splits it: the reference the byte scan must agree with.
    fn by_splitn(text: &str) -> Result<Arn<'_>, ArnError> {
        let mut fields = text.splitn(6, ':');
        if fields.next() != Some("arn") {
            return Err(ArnError::NotAnArn);
        }
        match (fields.next(), fields.next(), fields.next(), fields.next(), fields.next()) {
            (Some(partition), Some(service), Some(region), Some(account), Some(resource)) => {
                Ok(Arn { partition, service, region, account, resource })
            }
            (partition, service, region, account, _) => {
                let present = [partition, service, region, account].iter().filter(|f| f.is_some()).count();
                Err(ArnError::MissingFields(1 + present))
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_splits_as_splitn_does(text in "(arn)?[:arné/*]{0,24}") {
            proptest::prop_assert_eq!(Arn::parse(&text), by_splitn(&text));
        }
    }

    #[test]
    fn six_fields_and_the_resource_keeps_its_colons() {
        let arn = Arn::parse("arn:aws:logs:us-east-1:111122223333:log-group:app:*");
        assert_eq!(
            arn,
            Ok(Arn {
                partition: "aws",
                service: "logs",
                region: "us-east-1",
                account: "111122223333",
                resource: "log-group:app:*"
            })
        );
        assert_eq!(arn.map(|a| a.to_string()).as_deref(), Ok("arn:aws:logs:us-east-1:111122223333:log-group:app:*"));
        let role = Arn::parse("arn:aws-cn:iam::111122223333:role/path/App");
        assert_eq!(role.map(|a| (a.partition, a.region, a.resource_name())), Ok(("aws-cn", "", "App")));
        assert_eq!(Arn::parse("arn:aws:iam::aws:policy/ReadOnlyAccess").map(|a| a.account), Ok("aws"));
    }

    #[test]
    fn texts_that_are_not_arns_say_why() {
        assert_eq!(Arn::parse("111122223333"), Err(ArnError::NotAnArn));
        assert_eq!(Arn::parse("ARN:aws:iam::111122223333:root"), Err(ArnError::NotAnArn));
        assert_eq!(Arn::parse("arn:aws:iam::111122223333"), Err(ArnError::MissingFields(5)));
        assert_eq!(Arn::parse("arn"), Err(ArnError::MissingFields(1)));
        assert_eq!(
            ArnError::MissingFields(5).to_string(),
            "has 5 of the 6 fields `arn:<partition>:<service>:<region>:<account>:<resource>`"
        );
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("111122223333"));
        for not in ["", "11112222333", "1111222233334", "11112222333*", "aws", "１１１１２２２２３３３３"] {
            assert!(!is_account_id(not), "{not}");
        }
    }
}
