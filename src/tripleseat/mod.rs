//! Everything that speaks TripleSeat: webhook signatures, delivery bodies, the
//! event and its invoice, and the read API.

pub mod client;
pub mod delivery;
pub mod event;
pub mod signature;

use serde_json::Value;

/// A TripleSeat id as a string, whether it arrived as a number or a string.
pub fn id_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}
