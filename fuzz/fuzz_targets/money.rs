//! Any text as money: an amount that prints and parses back the same, or nothing.
#![no_main]

use connector::money::Cents;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Some(cents) = Cents::parse(text) {
        assert_eq!(Cents::parse(&cents.to_string()), Some(cents));
    }
    let _ = Cents::from_json(&serde_json::Value::String(text.to_string()));
});
