//! What the benchmarks share: the fixture delivery, its day and rules, and how it
//! becomes a validated event.

use chrono::NaiveDate;
use connector::pipeline::validation::{validate, Rules, ValidatedEvent};
use connector::tripleseat::delivery::Delivery;
use connector::tripleseat::event::Event;
use criterion::Criterion;
use serde_json::{json, Value};

/// The service's allocator (`src/main.rs`), so that allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Small samples, so that the whole of `cargo bench` takes a couple of minutes.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .without_plots()
}

/// The fixture event as a signed `UPDATE_EVENT` delivery body.
pub fn fixture_body() -> Vec<u8> {
    let fixture: Value = serde_json::from_str(include_str!("../../tests/fixtures/event_full.json")).unwrap();
    json!({"webhook_trigger_type": "UPDATE_EVENT", "event": fixture["event"]})
        .to_string()
        .into_bytes()
}

/// The fixture's day.
pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 16).unwrap()
}

pub fn rules() -> Rules {
    Rules {
        inject_statuses: vec!["DEFINITE".into(), "CLOSED".into()],
        require_closed_invoice: true,
        require_full_payment: true,
    }
}

/// Body bytes to a validated event, as the pipeline goes: the delivery skimmed, its
/// event read straight from the body into the typed `Event` (complete, so the tree
/// is never built), validated for the event's day.
pub fn parse_and_validate(body: &[u8], day: NaiveDate, rules: &Rules) -> ValidatedEvent {
    let delivery = Delivery::parse(body).expect("the fixture is a delivery");
    let wire = delivery
        .typed_event()
        .expect("the fixture's event is read from the body");
    assert!(wire.is_complete(), "the fixture needs no API read");
    let event = Event::try_from(wire).expect("every line of the fixture is readable");
    validate(&event, day, rules).expect("the fixture validates")
}
