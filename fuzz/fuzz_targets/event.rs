//! Any bytes as an event: read as far as they go or refused, never a panic, and a
//! read invoice keeps every line item the JSON held.
#![no_main]

use connector::tripleseat::event::Event;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    if let Ok(event) = Event::from_json(&json) {
        if let Some(invoice) = event.invoice {
            assert!(invoice.lines.iter().all(|line| line.quantity >= 1));
            let held = json["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["line_items"].as_array())
                .map(Vec::len)
                .max()
                .unwrap_or(0);
            assert!(invoice.lines.len() <= held);
        }
    }
});
