//! Any bytes as an event: read as far as they go or refused, never a panic, and a
//! read invoice keeps every line item its document held.
#![no_main]

use connector::tripleseat::event::wire::WireEvent;
use connector::tripleseat::event::Event;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let held = WireEvent::read(&json).and_then(|wire| wire.invoice().map(|document| document.line_items.0.len()));
    if let Ok(event) = Event::from_json(&json) {
        assert_eq!(event.invoice.as_ref().map(|invoice| invoice.lines.len()), held);
        for line in event.invoice.iter().flat_map(|invoice| &invoice.lines) {
            assert!(line.quantity >= 1 && line.total.is_within_invoice_bound());
        }
    }
});
