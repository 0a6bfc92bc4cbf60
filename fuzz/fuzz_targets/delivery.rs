//! Any bytes as a webhook body: a delivery or a clean refusal, and every field of a
//! delivery readable, never a panic.
#![no_main]

use connector::tripleseat::delivery::{Delivery, DeliveryError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let expected = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(_)) => None,
        Ok(_) => Some(DeliveryError::NotAnObject),
        Err(_) => Some(DeliveryError::InvalidJson),
    };
    match Delivery::parse(body) {
        Ok(delivery) => {
            assert_eq!(expected, None);
            let trigger = delivery.trigger().unwrap_or_default();
            let _ = (delivery.event_id(), delivery.site_id(), delivery.key(&trigger));
            let _ = (delivery.event(), delivery.booking());
        }
        Err(error) => assert_eq!(Some(error), expected),
    }
});
