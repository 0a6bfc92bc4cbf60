//! Everything that speaks TripleSeat: webhook signatures, delivery bodies, the
//! event and its invoice, and the read API.

pub mod auth;
pub mod client;
pub mod delivery;
pub mod event;
pub mod failure;
pub mod pacer;
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

/// The site an event object says it belongs to: its own `site_id`, else its
/// location's, else its booking's.
pub fn site_of(event: &Value) -> Option<String> {
    id_string(event.get("site_id"))
        .or_else(|| id_string(event.get("location").and_then(|l| l.get("site_id"))))
        .or_else(|| id_string(event.get("booking").and_then(|b| b.get("site_id"))))
}
