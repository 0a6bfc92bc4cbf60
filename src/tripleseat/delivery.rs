//! A webhook delivery body, parsed once: the trigger, where the event or booking
//! sits (`event`, `booking` or `object`), its ids, and its delivery key.

use serde_json::{Map, Value};

use super::id_string;
use crate::idempotency::DeliveryKey;

/// Why a body is not a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryError {
    InvalidJson,
    NotAnObject,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    root: Map<String, Value>,
}

/// The triggers that can lead to an order.
const ACTIONABLE_TRIGGERS: &[&str] = &[
    "CREATE_EVENT",
    "UPDATE_EVENT",
    "STATUS_CHANGE_EVENT",
    "CREATE_BOOKING",
    "STATUS_CHANGE_BOOKING",
    "EVENT_CREATED",
    "EVENT_UPDATED",
    "BOOKING_CREATED",
    "BOOKING_UPDATED",
];

pub fn is_actionable(trigger: &str) -> bool {
    ACTIONABLE_TRIGGERS.contains(&trigger)
}

impl Delivery {
    pub fn parse(body: &[u8]) -> Result<Delivery, DeliveryError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(root)) => Ok(Delivery { root }),
            Ok(_) => Err(DeliveryError::NotAnObject),
            Err(_) => Err(DeliveryError::InvalidJson),
        }
    }

    /// `webhook_trigger_type`, else `type`, trimmed and upper-cased.
    pub fn trigger(&self) -> Option<String> {
        ["webhook_trigger_type", "type"]
            .iter()
            .filter_map(|field| self.root.get(*field)?.as_str())
            .map(|t| t.trim().to_ascii_uppercase())
            .find(|t| !t.is_empty())
    }

    /// The event object: `event`, else an `object` that is not a booking.
    pub fn event(&self) -> Option<&Value> {
        self.root
            .get("event")
            .filter(|v| v.is_object())
            .or_else(|| self.root.get("object").filter(|o| o.is_object() && !is_booking(o)))
    }

    /// The booking: `booking`, else an `object` that is one, else the event's nested booking.
    pub fn booking(&self) -> Option<&Value> {
        self.root
            .get("booking")
            .filter(|v| v.is_object())
            .or_else(|| self.root.get("object").filter(|o| is_booking(o)))
            .or_else(|| self.event()?.get("booking").filter(|v| v.is_object()))
    }

    /// `event.id`, else `booking.event_id`, else `booking.event_ids[0]`.
    pub fn event_id(&self) -> Option<String> {
        id_string(self.event().and_then(|e| e.get("id"))).or_else(|| {
            let booking = self.booking()?;
            id_string(booking.get("event_id")).or_else(|| id_string(booking.get("event_ids")?.as_array()?.first()))
        })
    }

    /// `event.site_id`, else `booking.site_id`, else the root `site_id`.
    pub fn site_id(&self) -> Option<String> {
        id_string(self.event().and_then(|e| e.get("site_id")))
            .or_else(|| id_string(self.booking().and_then(|b| b.get("site_id"))))
            .or_else(|| id_string(self.root.get("site_id")))
    }

    /// `trigger:id:updated_at`, with the event's id (else the booking's) and its
    /// `updated_at` as an opaque string. `None` when there is no id to key on.
    pub fn key(&self, trigger: &str) -> Option<DeliveryKey> {
        let (id, holder) = match (self.event(), self.booking()) {
            (Some(event), _) if id_string(event.get("id")).is_some() => (id_string(event.get("id")), event),
            (_, Some(booking)) => (id_string(booking.get("id")).or_else(|| self.event_id()), booking),
            _ => return None,
        };
        let updated_at = match holder.get("updated_at") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        Some(DeliveryKey::new(trigger, &id?, &updated_at))
    }
}

fn is_booking(object: &Value) -> bool {
    object.get("event_ids").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(value: Value) -> Delivery {
        Delivery::parse(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_told_apart() {
        assert_eq!(Delivery::parse(b"").unwrap_err(), DeliveryError::InvalidJson);
        assert_eq!(Delivery::parse(b"{nope").unwrap_err(), DeliveryError::InvalidJson);
        assert_eq!(Delivery::parse(b"[1,2]").unwrap_err(), DeliveryError::NotAnObject);
        assert_eq!(Delivery::parse(b"\"text\"").unwrap_err(), DeliveryError::NotAnObject);
    }

    #[test]
    fn ids_are_found_where_tripleseat_puts_them() {
        let cases = [
            (
                json!({"event": {"id": 61234567, "site_id": 15901}}),
                Some("61234567"),
                Some("15901"),
            ),
            (
                json!({"event": {"id": "61234567"}, "site_id": "15901"}),
                Some("61234567"),
                Some("15901"),
            ),
            (
                json!({"booking": {"id": 5, "event_id": 77, "site_id": 3}}),
                Some("77"),
                Some("3"),
            ),
            (json!({"booking": {"id": 5, "event_ids": [88, 89]}}), Some("88"), None),
            (json!({"object": {"id": 9, "site_id": 2}}), Some("9"), Some("2")),
            (json!({"object": {"id": 5, "event_ids": [66]}}), Some("66"), None),
            (json!({"event": {"name": "no id"}}), None, None),
            (json!({"event": {"id": ""}}), None, None),
        ];
        for (body, event_id, site_id) in cases {
            let d = delivery(body.clone());
            assert_eq!(d.event_id().as_deref(), event_id, "event id of {body}");
            assert_eq!(d.site_id().as_deref(), site_id, "site id of {body}");
        }
    }

    #[test]
    fn the_trigger_comes_from_either_field() {
        assert_eq!(
            delivery(json!({"webhook_trigger_type": "UPDATE_EVENT"}))
                .trigger()
                .as_deref(),
            Some("UPDATE_EVENT")
        );
        assert_eq!(
            delivery(json!({"type": "create_booking"})).trigger().as_deref(),
            Some("CREATE_BOOKING")
        );
        assert_eq!(delivery(json!({"webhook_trigger_type": " "})).trigger(), None);
        assert!(is_actionable("STATUS_CHANGE_EVENT") && !is_actionable("DELETE_EVENT"));
    }

    #[test]
    fn the_key_is_trigger_id_and_updated_at() {
        let d = delivery(json!({"event": {"id": 1, "updated_at": "05/14/2026 04:51 PM"}}));
        assert_eq!(
            d.key("UPDATE_EVENT").unwrap().as_str(),
            "UPDATE_EVENT:1:05/14/2026 04:51 PM"
        );
        let b = delivery(json!({"booking": {"id": 5, "event_ids": [7], "updated_at": "x"}}));
        assert_eq!(b.key("CREATE_BOOKING").unwrap().as_str(), "CREATE_BOOKING:5:x");
        assert!(delivery(json!({"event": {}})).key("UPDATE_EVENT").is_none());
    }
}
