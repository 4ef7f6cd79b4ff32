//! The hot paths of every evaluation: pattern matching, policy parsing, one rule on one item.
//! Workloads come from the real AWS managed policies of `../shared/corpus` (bundled).
//!
//! Run: `cargo bench -p shared --features bundled-policies,cli --bench hot_paths`.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::io::Read;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::Value;
use shared::access::{every_allow, identity_cells, IdentityDoc, KeyScope};
use shared::catalog::ActionSet;
use shared::digest_map::{DigestMap, Slot};
use shared::item::Resource;
use shared::json_tree::Tree;
use shared::pattern::{Pattern, Variables};
use shared::policy::{parse_policy, PolicyKind};
use shared::version::digest;

fn corpus_documents() -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).unwrap();
    let gaad: Value = serde_json::from_str(&text).unwrap();
    gaad["Policies"].as_array().unwrap().iter().map(|p| p["PolicyVersionList"][0]["Document"].clone()).collect()
}

fn patterns(c: &mut Criterion) {
    let mut group = c.benchmark_group("pattern");
    let action = Pattern::action("kms:*crypt*");
    group.bench_function("action kms:*crypt* vs kms:ReEncryptFrom", |b| {
        b.iter(|| black_box(&action).matches(black_box("kms:ReEncryptFrom")))
    });
    let arn = Pattern::arn("arn:aws:kms:*:111122223333:key/*", Variables::Resolved);
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    group.bench_function("arn account pattern vs key ARN", |b| b.iter(|| black_box(&arn).matches(black_box(key))));
    // Many stars that almost match: stays linear in the text.
    let stars = Pattern::arn(&"*a".repeat(50), Variables::Literal);
    let text = "a".repeat(2000) + "b";
    group.bench_function("50 stars vs 2,000 characters, no match", |b| {
        b.iter(|| black_box(&stars).matches(black_box(&text)))
    });
    let all: Vec<Pattern> = ["kms:*", "s3:Get*", "kms:Re?ncrypt*", "*"].iter().map(|p| Pattern::action(p)).collect();
    group.bench_function("expand 4 patterns over the KMS catalog", |b| b.iter(|| ActionSet::matching(black_box(&all))));
    group.finish();
}

/// Matching stays linear as the stars and the text grow together (issue 8): `*a` repeated `n`
/// times against `2n` characters that almost match. Throughput (bytes of text per second) stays
/// flat from 10 to 10,000 stars; a backtracking matcher would grow exponentially.
fn pattern_growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("pattern growth");
    for n in [10usize, 100, 1_000, 10_000] {
        let stars = Pattern::arn(&"*a".repeat(n), Variables::Literal);
        let text = "a".repeat(2 * n) + "b";
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("n stars vs 2n characters, no match", n), &text, |b, text| {
            b.iter(|| black_box(&stars).matches(black_box(text)))
        });
    }
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let documents = corpus_documents();
    let bytes: usize = documents.iter().map(|d| d.to_string().len()).sum();
    let mut group = c.benchmark_group("policy");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse all 1,452 corpus documents", |b| {
        b.iter(|| {
            for document in &documents {
                black_box(parse_policy(document, PolicyKind::Identity).unwrap());
            }
        })
    });
    let encoded: Vec<Value> =
        documents.iter().map(|d| Value::String(d.to_string().bytes().map(|b| format!("%{b:02X}")).collect())).collect();
    group.bench_function("parse all 1,452 corpus documents URL-encoded", |b| {
        b.iter(|| {
            for document in &encoded {
                black_box(parse_policy(document, PolicyKind::Identity).unwrap());
            }
        })
    });
    group.finish();
}

/// The decoder's hot path (issue 18): an `AWS::IAM::Policy` configuration item per corpus
/// document, its document URL-encoded as Config records it, read as the dry-run reads it (a
/// `json_tree::Tree` of the item's text, `Resource::from_tree`) and, beside it, with the
/// `serde_json::Value` of the text built first, as before issue 18 (`Resource::from_json`,
/// which then reads that `Value` the same way: the difference is the `Value`).
fn items(c: &mut Criterion) {
    let items: Vec<String> = corpus_documents()
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let encoded: String = document
                .to_string()
                .bytes()
                .map(|b| match b.is_ascii_alphanumeric() {
                    true => (b as char).to_string(),
                    false => format!("%{b:02X}"),
                })
                .collect();
            serde_json::json!({
                "resourceType": "AWS::IAM::Policy", "resourceId": format!("ANPA{i:016}"),
                "ARN": format!("arn:aws:iam::111122223333:policy/P{i}"), "awsAccountId": "111122223333",
                "awsRegion": "global", "configurationItemStatus": "OK",
                "configurationItemCaptureTime": "2026-11-01T12:00:00.000Z", "configurationStateId": 1,
                "configuration": {"policyName": format!("P{i}"), "defaultVersionId": "v1", "attachmentCount": 1,
                    "policyVersionList": [{"document": encoded, "versionId": "v1", "isDefaultVersion": true}]},
                "supplementaryConfiguration": {}, "tags": {}
            })
            .to_string()
        })
        .collect();
    let bytes: usize = items.iter().map(String::len).sum();
    let mut group = c.benchmark_group("item");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("decode 1,452 IAM policy items (Tree, the dry-run)", |b| {
        b.iter(|| {
            for item in &items {
                black_box(Tree::with_parsed(item, Resource::from_tree).unwrap().unwrap());
            }
        })
    });
    group.bench_function("decode 1,452 IAM policy items (a Value of the text first)", |b| {
        b.iter(|| {
            for item in &items {
                let value: Value = serde_json::from_str(item).unwrap();
                black_box(Resource::from_json(&value).unwrap());
            }
        })
    });
    group.finish();
}

fn evaluation(c: &mut Criterion) {
    let policies: Vec<_> = corpus_documents().iter().map(|d| parse_policy(d, PolicyKind::Identity).unwrap()).collect();
    let scope = KeyScope::new("arn:aws:iam::111122223333:policy/p", "111122223333");
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(policies.len() as u64));
    group.bench_function("all-keys access of every corpus policy", |b| {
        b.iter(|| {
            for policy in &policies {
                black_box(identity_cells(&[IdentityDoc { name: None, policy }], None, &scope, &every_allow));
            }
        })
    });
    group.finish();
}

/// The dry-run's tables of a resource's newest version and of the policy store's index: a
/// lookup of each of 500,000 digests in a map that holds them (the 1 GB GAAD workload's
/// resources and policies are about 930,000 entries in two maps), and a slot of each of
/// 500,000 more, put as the sequencer puts a resource it has not seen.
fn digest_map(c: &mut Criterion) {
    const N: usize = 500_000;
    let held: Vec<[u64; 2]> = (0..N).map(|n| digest(&["111122223333", "us-east-1", &n.to_string()])).collect();
    let new: Vec<[u64; 2]> = (N..2 * N).map(|n| digest(&["111122223333", "us-east-1", &n.to_string()])).collect();
    let filled = || {
        let mut map = DigestMap::default();
        for (n, key) in held.iter().enumerate() {
            map.insert(*key, (n, n));
        }
        map
    };
    let map = filled();
    let mut group = c.benchmark_group("digest map");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("get each of 500,000 digests held", |b| {
        b.iter(|| held.iter().filter(|key| map.get(key).is_some()).count())
    });
    group.bench_function("slot and put 500,000 digests into a map of 500,000", |b| {
        b.iter_batched_ref(
            filled,
            |map| {
                for (n, key) in new.iter().enumerate() {
                    if let Slot::Vacant(vacant) = map.slot(key) {
                        vacant.put((n, n));
                    }
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
    c.bench_function("digest of an account, a region, a type and an id", |b| {
        b.iter(|| digest(black_box(&["111122223333", "us-east-1", "AWS::IAM::Role", "AROA0000000000000042"])))
    });
}

criterion_group!(benches, patterns, pattern_growth, parsing, items, evaluation, digest_map);
criterion_main!(benches);
