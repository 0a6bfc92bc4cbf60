//! Product matching and order planning, and how their cost grows with the catalogue
//! (100 → 10 000 products) and the invoice (1 → 200 lines). `cargo bench --bench matching`.

mod support;

use std::hint::black_box;

use connector::locations::Location;
use connector::money::Cents;
use connector::pipeline::validation::ValidatedEvent;
use connector::revel::order_plan::{plan_order, Matching};
use connector::revel::product::Product;
use connector::revel::product_match::Catalog;
use connector::tripleseat::event::{InvoiceTotals, LineItem};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const THRESHOLD: f64 = 0.75;

fn catalogue_growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("catalogue growth");
    group.sampling_mode(SamplingMode::Flat);
    for size in SIZES {
        let products = catalogue(size);
        group.bench_with_input(
            BenchmarkId::new("index the catalogue", size),
            &products,
            |b, products| b.iter(|| Catalog::new(black_box(products.clone()))),
        );
        let catalog = Catalog::new(products);
        group.bench_with_input(
            BenchmarkId::new("match a misspelt line", size),
            &catalog,
            |b, catalog| {
                b.iter(|| {
                    assert!(catalog
                        .best_match(black_box("Chocolate Sprinkle Rings"), THRESHOLD)
                        .is_some())
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("match an exact line", size), &catalog, |b, catalog| {
            b.iter(|| assert!(catalog.best_match(black_box("maple bar"), THRESHOLD).is_some()))
        });
        let alike = Catalog::new(alike_catalogue(size));
        let line = alike_line_name(size / 2);
        group.bench_with_input(
            BenchmarkId::new("match a line close to many names", size),
            &alike,
            |b, alike| b.iter(|| assert!(alike.best_match(black_box(&line), THRESHOLD).is_some())),
        );
    }
    group.finish();
}

fn invoice_growth(c: &mut Criterion) {
    let (location, fixture) = (
        location(),
        support::parse_and_validate(&support::fixture_body(), support::day(), &support::rules()),
    );
    let mut group = c.benchmark_group("planning");
    let catalog = Catalog::new(catalogue(1_000));
    group.bench_function("plan the fixture order, 1 000 products", |b| {
        let matching = Matching {
            catalog: Some(&catalog),
            threshold: THRESHOLD,
            allow_partial: false,
        };
        b.iter(|| assert!(plan_order(black_box(&fixture), &location, &matching).is_ok()))
    });
    group.finish();

    let size = 10_000;
    let alike = Catalog::new(alike_catalogue(size));
    let matching = Matching {
        catalog: Some(&alike),
        threshold: THRESHOLD,
        allow_partial: false,
    };
    let mut group = c.benchmark_group("invoice growth");
    group.sampling_mode(SamplingMode::Flat);
    for lines in [1, 10, 50, 200] {
        let order = order_of_lines(&fixture, lines, size);
        group.bench_with_input(
            BenchmarkId::new("plan against 10 000 alike products", lines),
            &order,
            |b, order| {
                b.iter(|| {
                    assert_eq!(
                        plan_order(black_box(order), &location, &matching).unwrap().items.len(),
                        lines
                    )
                })
            },
        );
    }
    group.finish();
}

/// The fixture's four product names: every catalogue holds them.
const FIXTURE_PRODUCTS: [&str; 4] = [
    "Glazed Classic",
    "Maple Bar",
    "Chocolate Sprinkle Ring",
    "Coffee Carafe",
];

fn location() -> Location {
    Location {
        site_id: "15901".into(),
        name: "Bench".into(),
        revel_establishment: "4".into(),
        timezone: chrono_tz::America::Los_Angeles,
    }
}

/// `size` products: the fixture's four and distinct fillers ("Seasonal Special 0042").
fn catalogue(size: usize) -> Vec<Product> {
    let fillers = (0..size - FIXTURE_PRODUCTS.len())
        .map(|n| Product::new(format!("f{n}"), format!("Seasonal Special {n:05}"), Some(Cents(100))));
    let fixture = FIXTURE_PRODUCTS
        .iter()
        .enumerate()
        .map(|(i, name)| Product::new(format!("p{i}"), *name, Some(Cents(100))));
    fillers.chain(fixture).collect()
}

/// `size` products whose names are all alike ("Catalogue Item Number 04242"): the
/// hardest case for the index, where every product shares most of a line's name.
fn alike_catalogue(size: usize) -> Vec<Product> {
    let alike = (0..size - FIXTURE_PRODUCTS.len()).map(|n| {
        Product::new(
            format!("a{n}"),
            format!("Catalogue Item Number {n:05}"),
            Some(Cents(100)),
        )
    });
    let fixture = FIXTURE_PRODUCTS
        .iter()
        .enumerate()
        .map(|(i, name)| Product::new(format!("p{i}"), *name, Some(Cents(100))));
    alike.chain(fixture).collect()
}

/// A misspelt name of the `n`th alike product ("Catalogue Item Numbr 04242").
fn alike_line_name(n: usize) -> String {
    format!("Catalogue Item Numbr {n:05}")
}

/// The fixture's event with `count` lines, each a misspelt name of an alike product
/// of a catalogue of `size`.
fn order_of_lines(fixture: &ValidatedEvent, count: usize, size: usize) -> ValidatedEvent {
    let lines: Vec<LineItem> = (0..count)
        .map(|n| LineItem {
            id: format!("90{n:04}"),
            name: alike_line_name(n * 37 % (size - FIXTURE_PRODUCTS.len())),
            quantity: 2,
            unit_price: Cents(1_50),
            total: Cents(3_00),
        })
        .collect();
    let subtotal = Cents(3_00 * count as i64);
    ValidatedEvent {
        lines,
        totals: InvoiceTotals {
            subtotal,
            discount: Cents::ZERO,
            tax: Cents::ZERO,
            grand_total: subtotal,
            paid: subtotal,
        },
        ..fixture.clone()
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = catalogue_growth, invoice_growth
}
criterion_main!(benches);
