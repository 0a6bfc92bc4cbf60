//! The cheap checks: kill switch, trigger allowlist, allowed locations, location map.

use crate::config::Config;
use crate::locations::Location;
use crate::pipeline::outcome::Outcome;
use crate::switches::Switches;
use crate::tripleseat::delivery::{is_actionable, Delivery};

/// `ENABLE_CONNECTOR=false` (or its runtime override) stops everything before the
/// body is even read.
pub fn connector_enabled(switches: &Switches) -> Result<(), Outcome> {
    if switches.is_enabled() {
        Ok(())
    } else {
        tracing::info!("Kill switch: OFF (CONNECTOR_DISABLED)");
        Err(Outcome::ConnectorDisabled)
    }
}

/// The delivery's trigger, when it is one that can lead to an order.
pub fn actionable_trigger(delivery: &Delivery) -> Result<String, Outcome> {
    match delivery.trigger() {
        None => {
            tracing::info!("Trigger: missing (MISSING_TRIGGER_TYPE)");
            Err(Outcome::MissingTriggerType)
        }
        Some(trigger) if !is_actionable(&trigger) => {
            tracing::info!(trigger, "Trigger: not actionable (TRIGGER_TYPE_NOT_ACTIONABLE)");
            Err(Outcome::TriggerTypeNotActionable)
        }
        Some(trigger) => {
            tracing::info!(trigger, "Trigger: actionable");
            Ok(trigger)
        }
    }
}

pub fn location_allowed(config: &Config, site_id: &str) -> Result<(), Outcome> {
    if config.is_location_allowed(site_id) {
        Ok(())
    } else {
        tracing::info!(site_id, "Allowed locations: site not allowed (LOCATION_NOT_ALLOWED)");
        Err(Outcome::LocationNotAllowed)
    }
}

pub fn mapped_location<'a>(config: &'a Config, site_id: &str) -> Result<&'a Location, Outcome> {
    match config.locations.get(site_id) {
        Some(location) => {
            tracing::info!(site_id, location = %location.name, establishment = %location.revel_establishment, "Location: mapped");
            Ok(location)
        }
        None => {
            tracing::warn!(site_id, "Location: site not in the locations map (UNKNOWN_LOCATION)");
            Err(Outcome::UnknownLocation)
        }
    }
}
