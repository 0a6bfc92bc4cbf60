//! Everything that speaks Revel: the REST client, the product catalogue, matching
//! invoice lines to products, the order plan, and the resumable order writer.

pub mod bodies;
pub mod catalog;
pub mod client;
pub mod order_plan;
pub mod product;
pub mod product_match;
pub mod tenant;
pub mod writer;

/// The `local_id` the connector writes, readable in the Revel UI.
pub fn local_id(event_id: &str) -> String {
    format!("Triple Seat {event_id}")
}

/// The `local_id` the earlier connector wrote; still looked up so its orders count.
pub fn legacy_local_id(event_id: &str) -> String {
    format!("tripleseat_event_{event_id}")
}
