//! Faults injected at the SDK's HTTP layer, in front of a real server (moto): an
//! `HttpClient` that wraps the SDK's own HTTP client and, per operation, answers some requests
//! with throttling, delays others, and moves items of BatchGetResourceConfig responses into
//! `unprocessedResourceKeys` (the first time each is asked for, or always). Everything above
//! this layer (the generated clients, their retries, the Lambda shell) is the code that runs in
//! Lambda; everything below is moto. It also records what the shell sent: page sizes, and every
//! evaluation PutEvaluations accepted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;
use serde_json::Value;

/// What to inject.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Every n-th request of these operations is answered with throttling (the SDK retries it).
    pub throttle_every: BTreeMap<&'static str, u32>,
    /// Every n-th item of a BatchGetResourceConfig response is left unprocessed the first time
    /// it is asked for.
    pub hold_back_every: Option<usize>,
    /// Resource ids BatchGetResourceConfig always leaves unprocessed.
    pub never_processed: HashSet<String>,
    /// Requests of these operations wait this long before they are sent.
    pub delay: BTreeMap<&'static str, Duration>,
}

/// What went through.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests per operation, throttled ones included.
    pub calls: BTreeMap<String, u32>,
    /// Requests answered with throttling, per operation.
    pub throttled: BTreeMap<String, u32>,
    /// Resource ids left unprocessed at least once.
    pub held_back: HashSet<String>,
    /// Page sizes asked for: (operation, the `limit`/`Limit` sent, or the number of keys).
    pub page_sizes: Vec<(String, Option<i64>)>,
    /// Evaluations PutEvaluations accepted (HTTP 200), per resource id: how many times.
    pub reported: HashMap<String, u32>,
}

/// The fault-injecting layer: share it with an `SdkConfig` (`http_client`) and keep a clone
/// to read what it saw.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: SharedHttpClient,
    plan: Arc<Plan>,
    seen: Arc<Mutex<Seen>>,
}

impl Faults {
    /// In front of the SDK's plain-HTTP client (moto listens on http://127.0.0.1).
    pub fn new(plan: Plan) -> Faults {
        Faults {
            inner: aws_smithy_http_client::Builder::new().build_http(),
            plan: Arc::new(plan),
            seen: Arc::default(),
        }
    }

    /// What went through so far.
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().expect("not poisoned")
    }
}

impl HttpClient for Faults {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
            plan: self.plan.clone(),
            seen: self.seen.clone(),
        })
    }
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
    plan: Arc<Plan>,
    seen: Arc<Mutex<Seen>>,
}

/// The operation: `X-Amz-Target` for Config's JSON protocol, `Action=` for IAM's and STS's query.
fn operation(request: &HttpRequest, body: &[u8]) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let body = String::from_utf8_lossy(body);
    body.split('&').find_map(|pair| pair.strip_prefix("Action=")).unwrap_or("unknown").to_owned()
}

fn throttling(operation: &str) -> HttpResponse {
    let body = if !is_config(operation) {
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>".to_owned()
    } else {
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()
    };
    HttpResponse::new(400.try_into().expect("status"), SdkBody::from(body))
}

fn is_config(operation: &str) -> bool {
    matches!(
        operation,
        "ListDiscoveredResources"
            | "BatchGetResourceConfig"
            | "PutEvaluations"
            | "GetComplianceDetailsByConfigRule"
            | "GetResourceConfigHistory"
    )
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request.body().bytes().map(<[u8]>::to_vec).expect("requests are in memory");
        let operation = operation(&request, &body);
        let (inner, plan, seen) = (self.inner.clone(), self.plan.clone(), self.seen.clone());
        HttpConnectorFuture::new(async move {
            let throttle = {
                let mut seen = seen.lock().expect("not poisoned");
                let calls = seen.calls.entry(operation.clone()).or_default();
                *calls += 1;
                let n = *calls;
                let throttle = plan.throttle_every.get(operation.as_str()).is_some_and(|every| n % every == 0);
                if throttle {
                    *seen.throttled.entry(operation.clone()).or_default() += 1;
                } else {
                    record_request(&mut seen, &operation, &body);
                }
                throttle
            };
            if throttle {
                return Ok(throttling(&operation));
            }
            if let Some(delay) = plan.delay.get(operation.as_str()) {
                tokio::time::sleep(*delay).await;
            }
            let response = inner.call(request).await?;
            match operation.as_str() {
                "BatchGetResourceConfig" => Ok(hold_back(response, &plan, &seen).await),
                "PutEvaluations" if response.status().is_success() => {
                    let sent: Value = serde_json::from_slice(&body).expect("JSON request");
                    let mut seen = seen.lock().expect("not poisoned");
                    for evaluation in sent["Evaluations"].as_array().expect("Evaluations") {
                        let id = evaluation["ComplianceResourceId"].as_str().expect("an id").to_owned();
                        *seen.reported.entry(id).or_default() += 1;
                    }
                    Ok(response)
                }
                _ => Ok(response),
            }
        })
    }
}

fn record_request(seen: &mut Seen, operation: &str, body: &[u8]) {
    let json = || serde_json::from_slice::<Value>(body).expect("JSON request");
    let size = match operation {
        "ListDiscoveredResources" => json()["limit"].as_i64(),
        "GetComplianceDetailsByConfigRule" => json()["Limit"].as_i64(),
        "BatchGetResourceConfig" => json()["resourceKeys"].as_array().map(|keys| keys.len() as i64),
        _ => return,
    };
    seen.page_sizes.push((operation.to_owned(), size));
}

/// Moves items of a BatchGetResourceConfig response into `unprocessedResourceKeys`, as Config
/// does when it cannot serve them all.
async fn hold_back(response: HttpResponse, plan: &Plan, seen: &Mutex<Seen>) -> HttpResponse {
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("a body").to_bytes();
    let mut body: Value = serde_json::from_slice(&bytes).expect("JSON response");
    if status.is_success() {
        let items = body["baseConfigurationItems"].as_array().cloned().unwrap_or_default();
        let mut kept = Vec::new();
        let mut unprocessed = Vec::new();
        let mut seen = seen.lock().expect("not poisoned");
        for (position, item) in items.into_iter().enumerate() {
            let id = item["resourceId"].as_str().expect("an id").to_owned();
            let first_time = !seen.held_back.contains(&id);
            let hold = plan.never_processed.contains(&id)
                || (first_time && plan.hold_back_every.is_some_and(|every| position % every == 0));
            if hold {
                seen.held_back.insert(id.clone());
                unprocessed.push(serde_json::json!({"resourceType": item["resourceType"], "resourceId": id}));
            } else {
                kept.push(item);
            }
        }
        body["baseConfigurationItems"] = Value::Array(kept);
        body["unprocessedResourceKeys"] = Value::Array(unprocessed);
    }
    HttpResponse::new(status, SdkBody::from(body.to_string()))
}
