//! The event, payload first: a signed webhook's (or a search result's) event object
//! is trusted; what it lacks (documents with line items and payments, status, date)
//! is read once from the TripleSeat API and merged, the payload's values winning.
//! The JSON stays in here: what leaves is the typed `WireEvent`. A webhook's event is
//! read from the delivery as far as each step needs: its date alone for the time
//! gate, then (most often complete) straight into its typed form; its tree is built
//! only to be merged with the API's.

use chrono::NaiveDate;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::pipeline::outcome::Outcome;
use crate::tripleseat::client::TripleseatClient;
use crate::tripleseat::delivery::Delivery;
use crate::tripleseat::event::date::{self, DateProblem};
use crate::tripleseat::event::wire::WireEvent;
use crate::tripleseat::failure::TripleseatError;
use crate::tripleseat::site_of;

pub struct EventSource<'a> {
    client: &'a TripleseatClient,
    event_id: String,
    payload: Payload,
    fetched: Option<Value>,
}

/// The event the run was handed.
enum Payload {
    None,
    /// A webhook's, still in its delivery.
    Delivered(Box<Delivery>),
    /// An event object: a search result's, or a delivery's once its tree was built.
    Object(Value),
}

impl<'a> EventSource<'a> {
    pub fn new(client: &'a TripleseatClient, event_id: String, payload: Option<Value>) -> EventSource<'a> {
        EventSource {
            client,
            event_id,
            payload: payload.filter(Value::is_object).map_or(Payload::None, Payload::Object),
            fetched: None,
        }
    }

    /// A webhook's event, as its delivery holds it.
    pub fn delivered(client: &'a TripleseatClient, event_id: String, delivery: Delivery) -> EventSource<'a> {
        EventSource {
            client,
            event_id,
            payload: Payload::Delivered(Box::new(delivery)),
            fetched: None,
        }
    }

    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// The payload's own date, if it has one: read alone, since most deliveries stop
    /// at the gate (events are booked days ahead) and need nothing else.
    pub fn payload_date(&self) -> Result<NaiveDate, DateProblem> {
        match &self.payload {
            Payload::None => Err(DateProblem::Missing),
            Payload::Delivered(delivery) => delivery.event_date(),
            Payload::Object(payload) => date::event_date([&payload["event_date"], &payload["event_date_iso8601"]]),
        }
    }

    /// The site, read from the API when the payload had none.
    pub async fn site_id_from_api(&mut self, deadline: Instant) -> Result<String, Outcome> {
        let event = self.fetch(deadline).await?;
        site_of(event).ok_or_else(|| {
            tracing::warn!("Site: none in the payload or the API (MISSING_SITE_ID)");
            Outcome::MissingSiteId
        })
    }

    /// The whole event: the payload alone when it has everything, else merged with the
    /// API's. Without an id of its own, it has the one it was asked for.
    pub async fn full_event(&mut self, deadline: Instant) -> Result<WireEvent, Outcome> {
        let payload_read = match &self.payload {
            Payload::Delivered(delivery) => delivery.typed_event().filter(WireEvent::is_complete),
            _ => None,
        };
        let payload_read = payload_read.or_else(|| self.payload_object().and_then(WireEvent::read));
        let mut event = match payload_read.filter(WireEvent::is_complete) {
            Some(complete) => {
                tracing::info!("Event data: complete in the payload, no API read");
                complete
            }
            None => {
                let fetched = self.fetch(deadline).await?.clone();
                let read = match self.payload_object() {
                    Some(payload) => WireEvent::read(&merge(payload, &fetched)),
                    None => WireEvent::read(&fetched),
                };
                read.ok_or_else(|| {
                    tracing::warn!("TripleSeat read: the event is not an object (EVENT_DATA_UNAVAILABLE)");
                    Outcome::EventDataUnavailable
                })?
            }
        };
        if event.id.0.is_none() {
            event.id.0 = Some(self.event_id.clone());
        }
        Ok(event)
    }

    /// The payload's event object, its delivery's tree built if it was not yet.
    fn payload_object(&mut self) -> Option<&Value> {
        if let Payload::Delivered(_) = self.payload {
            let Payload::Delivered(delivery) = std::mem::replace(&mut self.payload, Payload::None) else {
                unreachable!("invariant: matched just above")
            };
            self.payload = delivery.into_event().map_or(Payload::None, Payload::Object);
        }
        match &self.payload {
            Payload::Object(payload) => Some(payload),
            _ => None,
        }
    }

    async fn fetch(&mut self, deadline: Instant) -> Result<&Value, Outcome> {
        if self.fetched.is_none() {
            let read = tokio::time::timeout_at(deadline, self.client.event(&self.event_id, deadline)).await;
            let event = match read {
                Ok(Ok(event)) => event,
                Ok(Err(TripleseatError::Denied)) => {
                    tracing::warn!("TripleSeat read: DENIED (TRIPLESEAT_AUTHORIZATION_DENIED)");
                    return Err(Outcome::TripleseatAuthorizationDenied);
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "TripleSeat read: FAILED (EVENT_DATA_UNAVAILABLE)");
                    return Err(Outcome::EventDataUnavailable);
                }
                Err(_) => {
                    tracing::warn!("TripleSeat read: deadline reached (EVENT_DATA_UNAVAILABLE)");
                    return Err(Outcome::EventDataUnavailable);
                }
            };
            tracing::info!("TripleSeat read: event fetched with financials");
            self.fetched = Some(event);
        }
        Ok(self.fetched.as_ref().expect("invariant: fetched was just set"))
    }
}

/// The payload's values win; the API's fill what is missing, null or empty.
/// Objects merge key by key; arrays of objects merge element by `id`.
pub fn merge(payload: &Value, api: &Value) -> Value {
    match (payload, api) {
        (Value::Object(p), Value::Object(a)) => {
            let mut merged: Map<String, Value> = a.clone();
            for (key, value) in p {
                let combined = match a.get(key) {
                    Some(api_value) if is_gap(value) => api_value.clone(),
                    Some(api_value) => merge(value, api_value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), combined);
            }
            Value::Object(merged)
        }
        (Value::Array(p), Value::Array(a)) if !p.is_empty() => Value::Array(
            p.iter()
                .map(|item| {
                    let twin = item
                        .get("id")
                        .filter(|id| !id.is_null())
                        .and_then(|id| a.iter().find(|other| other.get("id") == Some(id)));
                    twin.map_or_else(|| item.clone(), |twin| merge(item, twin))
                })
                .collect(),
        ),
        (p, a) if is_gap(p) => a.clone(),
        (p, _) => p.clone(),
    }
}

fn is_gap(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payload_wins_and_the_api_fills_gaps() {
        let payload =
            json!({"id": 1, "name": "Webhook name", "status": "DEFINITE", "grand_total": null, "documents": []});
        let api = json!({"id": 1, "name": "API name", "status": "TENTATIVE", "grand_total": "137.70", "documents": [{"id": 9}], "event_date": "05/16/2026"});
        let merged = merge(&payload, &api);
        assert_eq!(merged["name"], "Webhook name");
        assert_eq!(merged["status"], "DEFINITE");
        assert_eq!(merged["grand_total"], "137.70");
        assert_eq!(merged["documents"], json!([{"id": 9}]));
        assert_eq!(merged["event_date"], "05/16/2026");
    }

    #[test]
    fn documents_merge_by_id() {
        let payload = json!({"documents": [{"id": 7, "title": "Invoice (webhook)"}]});
        let api = json!({"documents": [{"id": 7, "title": "Invoice", "line_items": [{"id": 1}]}]});
        let merged = merge(&payload, &api);
        assert_eq!(merged["documents"][0]["title"], "Invoice (webhook)");
        assert_eq!(merged["documents"][0]["line_items"], json!([{"id": 1}]));
    }

    #[test]
    fn a_full_payload_is_complete_and_a_status_change_is_not() {
        let full: Value = serde_json::from_str(include_str!("../../tests/fixtures/event_full.json")).unwrap();
        assert!(WireEvent::read(&full["event"]).unwrap().is_complete());
        let status_change: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/webhook_status_change.json")).unwrap();
        assert!(!WireEvent::read(&status_change["event"]).unwrap().is_complete());
    }
}
