//! The exceptions file of parameter `exceptionsUri` (`s3://bucket/key` or `ssm:<name>`), read
//! with the function's own role, never the member role it may assume: one file in the central
//! account serves every account of an organization, and a member account cannot write its
//! own exceptions.
//!
//! A warm container keeps what it read for [`EXCEPTIONS_TTL`]: Config sends change
//! notifications in bursts, and reading the file for each would add a call to every one, while
//! an edit of the file should reach the verdicts within minutes. A read that fails is not
//! kept: the next invocation reads again. An unreadable or malformed file fails the invocation
//! (`KmsGuardrails.InvalidExceptions`) before anything is judged or reported: it never means
//! "no exceptions", and it never leaves verdicts reported as if nothing were excepted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use tokio::sync::Mutex;

use super::RuleError;
use crate::exceptions::{Date, Exceptions};
use crate::rule::{ExceptionsSource, Params, EXCEPTIONS_URI, RULE_IDS};

/// How long a warm container keeps an exceptions file it read.
pub const EXCEPTIONS_TTL: Duration = Duration::from_secs(60);

/// The largest exceptions file read (an S3 object may be any size; an SSM parameter holds at
/// most 8 KB): a thousand exceptions fit in far less.
pub const EXCEPTIONS_MAX_BYTES: i64 = 1024 * 1024;

/// The function's own clients for the file, and the files read, by source.
#[derive(Debug)]
pub struct ExceptionsCache {
    clients: OwnClients,
    read: Mutex<HashMap<ExceptionsSource, (Instant, Arc<Exceptions>)>>,
}

#[derive(Debug)]
struct OwnClients {
    s3: aws_sdk_s3::Client,
    ssm: aws_sdk_ssm::Client,
}

/// The exceptions an invocation applies, and the day it applies them on.
#[derive(Debug, Clone, Copy)]
pub struct Excepting<'a> {
    /// The file (empty without `exceptionsUri`).
    pub exceptions: &'a Exceptions,
    /// Today, UTC.
    pub today: Date,
}

/// No exceptions file.
pub static NO_EXCEPTIONS: Exceptions = Exceptions::none();

impl Excepting<'static> {
    /// No exceptions (the date does not matter then).
    pub fn none() -> Excepting<'static> {
        Excepting { exceptions: &NO_EXCEPTIONS, today: Date::from_days(0) }
    }
}

/// Today, UTC, from the system clock.
pub fn today_utc() -> Date {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Date::from_unix_seconds(seconds)
}

fn invalid(source: &ExceptionsSource, problem: impl Into<String>) -> RuleError {
    RuleError::Exceptions { uri: source.to_string(), problem: problem.into() }
}

impl ExceptionsCache {
    /// Clients of the function's own configuration.
    pub fn new(own: &SdkConfig) -> ExceptionsCache {
        let clients = OwnClients { s3: aws_sdk_s3::Client::new(own), ssm: aws_sdk_ssm::Client::new(own) };
        ExceptionsCache { clients, read: Mutex::new(HashMap::new()) }
    }

    /// The file `exceptionsUri` names (`None` without the parameter), from the container's
    /// cache while it is fresh.
    pub async fn for_params(&self, params: &Params) -> Result<Option<Arc<Exceptions>>, RuleError> {
        let Some(uri) = params.text(EXCEPTIONS_URI.name) else { return Ok(None) };
        // `parse_params` checked the shape; a value that got past it is still not read blind.
        let source = ExceptionsSource::parse(uri).ok_or_else(|| RuleError::Exceptions {
            uri: uri.to_owned(),
            problem: "is not s3://bucket/key or ssm:<parameter name>".into(),
        })?;
        let mut read = self.read.lock().await;
        if let Some((at, exceptions)) = read.get(&source) {
            if at.elapsed() < EXCEPTIONS_TTL {
                return Ok(Some(exceptions.clone()));
            }
        }
        let text = self.fetch(&source).await?;
        let exceptions = crate::exceptions::parse(&text).map_err(|e| invalid(&source, e.to_string()))?;
        // Every rule id, not only this function's: the file serves every rule, and a misspelt
        // one is refused here as the dry-run refuses it.
        exceptions.check_rules(&RULE_IDS).map_err(|e| invalid(&source, e.to_string()))?;
        let exceptions = Arc::new(exceptions);
        tracing::info!(uri = %source, exceptions = exceptions.entries().len(), "exceptions file read");
        read.insert(source, (Instant::now(), exceptions.clone()));
        Ok(Some(exceptions))
    }

    /// The file's text: s3:GetObject or ssm:GetParameter, with the function's own role.
    async fn fetch(&self, source: &ExceptionsSource) -> Result<String, RuleError> {
        let failed = |call: &str, e: &dyn std::error::Error| {
            invalid(source, format!("{call} failed: {}", aws_smithy_types::error::display::DisplayErrorContext(e)))
        };
        match source {
            ExceptionsSource::S3 { bucket, key } => {
                let request = self.clients.s3.get_object().bucket(bucket).key(key);
                let object = request.send().await.map_err(|e| failed("s3:GetObject", &e))?;
                if object.content_length().is_some_and(|n| n > EXCEPTIONS_MAX_BYTES) {
                    return Err(invalid(source, format!("is larger than {EXCEPTIONS_MAX_BYTES} bytes")));
                }
                let bytes = object.body.collect().await.map_err(|e| failed("s3:GetObject (body)", &e))?;
                String::from_utf8(bytes.to_vec()).map_err(|_| invalid(source, "is not UTF-8 text"))
            }
            ExceptionsSource::Ssm(name) => {
                // Decrypted in case it is a SecureString under the AWS managed key (whose key
                // policy admits SSM's callers); a String parameter ignores the flag.
                let request = self.clients.ssm.get_parameter().name(name).with_decryption(true);
                let output = request.send().await.map_err(|e| failed("ssm:GetParameter", &e))?;
                output
                    .parameter()
                    .and_then(|p| p.value())
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(source, "ssm:GetParameter returned no value"))
            }
        }
    }
}
