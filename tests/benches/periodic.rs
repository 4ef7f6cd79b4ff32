//! A periodic run at the scale SPEC section 5 sets (5,000 roles with attached managed
//! policies, the separation rule): its wall time and the peak memory of the process, clean and
//! with the load test's faults (throttling and unprocessed keys, injected at the SDK's HTTP
//! layer). BENCHMARKS.md records the figures.
//!
//! Run: `cargo bench -p kms-guardrails-tests --bench periodic`. Environment:
//! `PERIODIC_BENCH_ROLES` (default 5000), `PERIODIC_BENCH_ROUNDS` (default 3).
//!
//! The run goes through `shared::runtime::handle`, the Lambda handler's code, against moto's
//! server (tests/moto_config_ext.py) on 127.0.0.1, so the time includes moto's (Python) time to
//! answer; it is an upper bound for the function's own work. Memory: the process's peak RSS
//! (`VmHWM`, reset before each run through `/proc/self/clear_refs`), next to its RSS before
//! the run; the setup (creating the roles) is not in either figure.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

// The test binary's helpers, shared; not every part is used here.
#[allow(dead_code)]
#[path = "../moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "../population.rs"]
mod population;
#[allow(dead_code)]
#[path = "../sdk_faults.rs"]
mod sdk_faults;

use std::collections::BTreeMap;
use std::time::Instant;

use sdk_faults::{Faults, Plan};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().map(|v| v.parse().expect("a number")).unwrap_or(default)
}

/// `VmRSS` and `VmHWM` of this process, in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a field")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let roles = env_number("PERIODIC_BENCH_ROLES", 5000);
    let rounds = env_number("PERIODIC_BENCH_ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let moto = moto::Moto::start();
        let plain = population::sdk(&moto, None).await;
        let setup = Instant::now();
        let created = population::roles(&aws_sdk_iam::Client::new(&plain), roles).await;
        eprintln!("setup: {} roles in {:.1} s", created.len(), setup.elapsed().as_secs_f64());
        let rule = kms_guardrails::ALL.iter().copied().find(|r| r.id == "kms-admin-use-separation").expect("rule");
        println!("| run | roles | wall time | RSS before | peak RSS |");
        println!("|---|---|---|---|---|");
        for round in 0..rounds {
            for faulty in [false, true] {
                let faults = faulty.then(|| {
                    let throttle_every = BTreeMap::from([
                        ("ListDiscoveredResources", 7),
                        ("BatchGetResourceConfig", 7),
                        ("PutEvaluations", 7),
                        ("GetComplianceDetailsByConfigRule", 7),
                        ("GetPolicy", 11),
                        ("GetPolicyVersion", 11),
                    ]);
                    Faults::new(Plan { throttle_every, hold_back_every: Some(3), ..Plan::default() })
                });
                let sdk = population::sdk(&moto, faults.as_ref()).await;
                let token = format!("bench-{round}-{faulty}");
                std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
                let (before, _) = memory();
                let start = Instant::now();
                let summary = shared::runtime::handle(rule, &sdk, &population::scheduled(&token)).await;
                let elapsed = start.elapsed();
                let (_, peak) = memory();
                let summary = summary.expect("a complete run");
                let reported: u64 =
                    summary["reported"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
                assert_eq!(reported as usize, roles, "every role reported");
                let kind = if faulty { "throttling + unprocessed keys" } else { "clean" };
                println!(
                    "| {kind} | {roles} | {:.1} s | {:.0} MiB | {:.0} MiB |",
                    elapsed.as_secs_f64(),
                    before as f64 / 1024.0,
                    peak as f64 / 1024.0
                );
            }
        }
    });
}
