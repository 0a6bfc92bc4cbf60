//! A webhook's own pure work: the signature over the body, and parsing and
//! validating the fixture event. `cargo bench --bench webhook`.

mod support;

use std::hint::black_box;

use connector::secret::Secret;
use connector::tripleseat::delivery::Delivery;
use connector::tripleseat::signature::SignatureScheme;
use connector::tripleseat::signature::{sign, sign_plain, Verifier};
use criterion::{criterion_group, criterion_main, Criterion};

fn signature(c: &mut Criterion) {
    let body = support::fixture_body();
    let key = Secret::new("bench-signing-key");
    let now = 1_780_000_000;
    let timestamped = sign(&key, &body, now);
    let plain = sign_plain(&key, &body);
    let verifier = Verifier {
        key: Some(&key),
        scheme: SignatureScheme::Auto,
        tolerance_secs: 300,
    };
    let mut group = c.benchmark_group("webhook");
    group.bench_function("verify a timestamped signature (fixture body)", |b| {
        b.iter(|| {
            assert!(verifier
                .verify(Some(black_box(&timestamped)), black_box(&body), now)
                .is_ok())
        })
    });
    group.bench_function("verify a plain signature (fixture body)", |b| {
        b.iter(|| assert!(verifier.verify(Some(black_box(&plain)), black_box(&body), now).is_ok()))
    });
    let not_actionable = String::from_utf8(body.clone())
        .unwrap()
        .replacen("UPDATE_EVENT", "CREATE_LEAD", 1)
        .into_bytes();
    group.bench_function(
        "read the trigger and ids of a non-actionable delivery (fixture body)",
        |b| {
            b.iter(|| {
                let delivery = Delivery::parse(black_box(&not_actionable)).unwrap();
                assert!(delivery.trigger().is_some() && delivery.event_id().is_some())
            })
        },
    );
    let (day, rules) = (support::day(), support::rules());
    group.bench_function("parse the body and validate the fixture event", |b| {
        b.iter(|| support::parse_and_validate(black_box(&body), day, &rules))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = signature
}
criterion_main!(benches);
