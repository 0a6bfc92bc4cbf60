//! Writing one order to Revel, resumably (`reference/revel.md` §4):
//! Order → OrderItems → discount → Payment → finalize → OrderHistory.
//!
//! Revel has no transaction, so every object the connector creates carries a uuid
//! derived from the event id (v5), and the OrderHistory row is written last. Hence:
//! * an order found by `local_id` with a history row is complete: `ALREADY_INJECTED`;
//! * one without it was started by an earlier run. Its uuid also carries the invoice it
//!   was started from: for the same invoice, the writer lists its children, creates
//!   only those whose uuids are missing — an item's is keyed by its TripleSeat line id,
//!   so a catalogue or `ALLOW_PARTIAL_ORDERS` change cannot shift or skip one — and
//!   re-applies the idempotent PATCHes; for another invoice, it is never touched;
//! * after an ambiguous failure (timeout, reset, 5xx after sending) the writer looks
//!   the uuid up before sending again, so a retried write never duplicates.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::bodies::{self, Context};
use super::client::{RevelError, RevelReader, RevelWriter};
use super::order_plan::PlannedOrder;
use super::tenant::{RevelIds, RevelTotals};
use super::{legacy_local_id, local_id};
use crate::money::Cents;
use crate::tripleseat::id_string;
use crate::upstream::{encode_component, with_retry, Failure};

/// An order already in Revel for this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingOrder {
    pub id: String,
    /// Its history row exists: every step ran.
    pub is_complete: bool,
    pub uuid: Option<String>,
}

impl ExistingOrder {
    /// Started by this connector from exactly this plan's invoice: safe to complete.
    pub fn is_resumable_for(&self, event_id: &str, plan: &PlannedOrder) -> bool {
        self.uuid.as_deref() == Some(order_uuid(event_id, plan).as_str())
    }
}

/// The end of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    Injected {
        order_id: String,
    },
    /// The order exists but a step could not be completed.
    Partial {
        order_id: String,
        error: RevelError,
    },
    /// Nothing was written.
    Failed(RevelError),
}

/// The tenant ids every order refers to, all present.
#[derive(Debug, Clone, Copy)]
pub struct WriterIds {
    pub user: u64,
    pub station: u64,
    pub dining_option: u64,
    pub payment_type: u64,
    pub discount: Option<u64>,
}

impl WriterIds {
    /// The ids this plan needs, or the names of the variables that are missing.
    pub fn for_plan(ids: &RevelIds, plan: &PlannedOrder) -> Result<WriterIds, Vec<&'static str>> {
        let mut missing = Vec::new();
        let mut need = |value: Option<u64>, name: &'static str, needed: bool| {
            if value.is_none() && needed {
                missing.push(name);
            }
            value.unwrap_or_default()
        };
        let resolved = WriterIds {
            user: need(ids.user, "REVEL_USER_ID", true),
            station: need(ids.pos_station, "REVEL_POS_STATION_ID", true),
            dining_option: need(ids.dining_option, "REVEL_DINING_OPTION_ID", true),
            payment_type: need(ids.payment_type, "REVEL_PAYMENT_TYPE_ID", plan.payment > Cents::ZERO),
            discount: ids.discount,
        };
        need(ids.discount, "REVEL_DISCOUNT_ID", plan.discount > Cents::ZERO);
        if missing.is_empty() {
            Ok(resolved)
        } else {
            Err(missing)
        }
    }
}

/// The fixed namespace of the connector's uuids.
const NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_2a47_9d3e_4b6a_8c21_7e0f_b3d4_a915);

fn object_uuid(event_id: &str, part: &str) -> String {
    Uuid::new_v5(&NAMESPACE, format!("tripleseat-event/{event_id}/{part}").as_bytes()).to_string()
}

/// The order's uuid: the event's, and the invoice's it was made from.
pub fn order_uuid(event_id: &str, plan: &PlannedOrder) -> String {
    object_uuid(event_id, &format!("order/{}", plan.invoice_fingerprint))
}

/// Looks up this event's order under the current `local_id`, then the older form.
/// Every order Revel holds for the event, under either `local_id` form. More than one
/// is a duplicate the caller must not paper over.
pub async fn find_existing(
    client: &RevelReader,
    establishment: &str,
    event_id: &str,
    deadline: Option<tokio::time::Instant>,
) -> Result<Vec<ExistingOrder>, RevelError> {
    let mut found: Vec<ExistingOrder> = Vec::new();
    for local in [local_id(event_id), legacy_local_id(event_id)] {
        let path = format!(
            "/resources/Order/?establishment={establishment}&local_id={}",
            encode_component(&local)
        );
        let orders = client.list(&path, deadline).await?;
        // Only an order that really carries this local_id counts, whatever the filter did.
        let this_event = |o: &&Value| o.get("local_id").and_then(Value::as_str) == Some(local.as_str());
        for order in orders.iter().filter(this_event) {
            let history = order
                .get("orderhistory")
                .and_then(Value::as_array)
                .is_some_and(|h| !h.is_empty());
            let has_history = order.get("has_history").and_then(Value::as_bool).unwrap_or(false);
            let id = id_string(order.get("id")).ok_or(RevelError::Malformed)?;
            if found.iter().any(|f| f.id == id) {
                continue;
            }
            found.push(ExistingOrder {
                id,
                is_complete: history || has_history,
                uuid: order.get("uuid").and_then(Value::as_str).map(String::from),
            });
        }
    }
    Ok(found)
}

pub struct OrderWriter<'a> {
    pub client: &'a RevelWriter,
    pub ids: WriterIds,
    pub timezone: Tz,
    pub now: DateTime<Utc>,
    /// `REVEL_TOTALS`: which totals the finalize step writes.
    pub totals: RevelTotals,
}

impl OrderWriter<'_> {
    fn context(&self) -> Context {
        Context {
            user: self.ids.user,
            station: self.ids.station,
            dining_option: self.ids.dining_option,
            payment_type: self.ids.payment_type,
            discount: self.ids.discount,
            timezone: self.timezone,
            now: self.now,
        }
    }

    /// Creates the order, or completes `existing` (one of ours, for this invoice).
    pub async fn write(&self, plan: &PlannedOrder, event_id: &str, existing: Option<&ExistingOrder>) -> WriteResult {
        let context = self.context();
        let (order_id, is_new) = match existing {
            Some(order) => {
                tracing::info!(order_id = %order.id, "Revel: resuming an incomplete order");
                (order.id.clone(), false)
            }
            None => match self.create_order(plan, event_id, &context).await {
                Ok(id) => (id, true),
                Err(error) => return WriteResult::Failed(error),
            },
        };
        match self.complete(&order_id, plan, event_id, is_new, &context).await {
            Ok(()) => WriteResult::Injected { order_id },
            Err(error) => WriteResult::Partial { order_id, error },
        }
    }

    async fn create_order(&self, plan: &PlannedOrder, event_id: &str, context: &Context) -> Result<String, RevelError> {
        let uuid = order_uuid(event_id, plan);
        let order = self
            .create("Order", &uuid, &bodies::order(plan, uuid.clone(), context))
            .await?;
        let id = id_string(order.get("id")).ok_or(RevelError::Malformed)?;
        tracing::info!(order_id = %id, "Revel: order created");
        Ok(id)
    }

    /// Runs every step after the order's creation. A new order has no children yet, so
    /// only a resumed one is listed first.
    async fn complete(
        &self,
        order_id: &str,
        plan: &PlannedOrder,
        event_id: &str,
        is_new: bool,
        context: &Context,
    ) -> Result<(), RevelError> {
        let present = |resource: &'static str| async move {
            if is_new {
                Ok(Vec::new())
            } else {
                self.child_uuids(resource, order_id).await
            }
        };
        let order_uri = format!("/resources/Order/{order_id}/");

        let items_present = present("OrderItem").await?;
        for item in &plan.items {
            let uuid = object_uuid(event_id, &format!("item/{}", item.line_id));
            if !items_present.contains(&uuid) {
                let body = bodies::order_item(item, order_id, uuid.clone(), context).ok_or(RevelError::Malformed)?;
                self.create("OrderItem", &uuid, &body).await?;
            }
        }
        // The discount goes on after the items: applied before them, Revel kept it at 0.00.
        if let Some(body) = bodies::discount(plan, context) {
            self.patch(&order_uri, &body).await?;
        }
        let uuid = object_uuid(event_id, "payment");
        if let Some(body) = bodies::payment(plan, order_id, uuid.clone(), context) {
            if !present("Payment").await?.contains(&uuid) {
                self.create("Payment", &uuid, &body).await?;
            }
        }
        let finalized = self
            .patch(&order_uri, &bodies::finalize(plan, self.totals, self.ids.discount))
            .await?;
        // `printed` did not always stick the first time in production.
        if finalized.get("printed").and_then(Value::as_bool) == Some(false) {
            self.patch(&order_uri, &bodies::PrintedBody { printed: true }).await?;
        }
        let uuid = object_uuid(event_id, "history");
        if !present("OrderHistory").await?.contains(&uuid) {
            let body = bodies::history(plan, order_id, uuid.clone(), context);
            self.create("OrderHistory", &uuid, &body).await?;
        }
        tracing::info!(order_id, items = plan.items.len(), total = %plan.total, "Revel: order complete");
        Ok(())
    }

    /// POSTs a new object through the one retry path, never creating it twice: after
    /// an ambiguous failure the uuid is looked up before the next send (and once more
    /// when the tries are spent).
    async fn create(&self, resource: &str, uuid: &str, body: &impl Serialize) -> Result<Value, RevelError> {
        let body = serde_json::to_value(body).map_err(|_| RevelError::Malformed)?;
        let path = format!("/resources/{resource}/");
        let was_ambiguous = AtomicBool::new(false);
        let created = with_retry(self.client.reader().retry_policy(), None, |attempt| {
            let (path, body, was_ambiguous) = (&path, &body, &was_ambiguous);
            async move {
                if was_ambiguous.load(Ordering::Relaxed) {
                    if let Some(found) = self.find_by_uuid(resource, uuid).await.map_err(Failure::Fatal)? {
                        tracing::info!(resource, "Revel: an ambiguous write had gone through");
                        return Ok(found);
                    }
                }
                match self.client.post(path, body).await {
                    Ok(created) if id_string(created.get("id")).is_some() => Ok(created),
                    // Tastypie may answer 201 without a body: read back what was stored.
                    Ok(_) => self
                        .find_by_uuid(resource, uuid)
                        .await
                        .map_err(Failure::Fatal)?
                        .ok_or(Failure::Fatal(RevelError::Malformed)),
                    Err(error) => {
                        if matches!(error, RevelError::Ambiguous(_)) {
                            was_ambiguous.store(true, Ordering::Relaxed);
                        }
                        tracing::warn!(resource, attempt, %error, "Revel write failed");
                        Err(classify_write(error))
                    }
                }
            }
        })
        .await;
        match created {
            Err(error) if was_ambiguous.load(Ordering::Relaxed) => {
                self.find_by_uuid(resource, uuid).await?.ok_or(error)
            }
            other => other,
        }
    }

    /// PATCHes set absolute values, so a retry after any failure is safe.
    async fn patch(&self, path: &str, body: &impl Serialize) -> Result<Value, RevelError> {
        let body = serde_json::to_value(body).map_err(|_| RevelError::Malformed)?;
        with_retry(self.client.reader().retry_policy(), None, |_| async {
            self.client.patch(path, &body).await.map_err(classify_write)
        })
        .await
    }

    async fn find_by_uuid(&self, resource: &str, uuid: &str) -> Result<Option<Value>, RevelError> {
        let found = self
            .client
            .reader()
            .list(&format!("/resources/{resource}/?uuid={uuid}"), None)
            .await?;
        Ok(found
            .into_iter()
            .find(|o| o.get("uuid").and_then(Value::as_str) == Some(uuid)))
    }

    async fn child_uuids(&self, resource: &str, order_id: &str) -> Result<Vec<String>, RevelError> {
        let children = self
            .client
            .reader()
            .list(&format!("/resources/{resource}/?order={order_id}&limit=100"), None)
            .await?;
        let order_uri = format!("/resources/Order/{order_id}/");
        Ok(children
            .iter()
            .filter(|c| c.get("order").and_then(Value::as_str) == Some(order_uri.as_str()))
            .filter_map(|c| c.get("uuid")?.as_str().map(String::from))
            .collect())
    }
}

/// How a failed write is retried: after Revel's own wait on a 429, after the usual
/// backoff when it may not have arrived or been applied, never when it was refused.
fn classify_write(error: RevelError) -> Failure<RevelError> {
    match error {
        RevelError::RateLimited { retry_after } => Failure::RetryAfter(error, retry_after),
        RevelError::Ambiguous(_) | RevelError::Unreachable => Failure::Retry(error),
        other => Failure::Fatal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_per_event_and_part() {
        assert_eq!(object_uuid("61234567", "order"), object_uuid("61234567", "order"));
        assert_ne!(object_uuid("61234567", "order"), object_uuid("61234568", "order"));
        assert_ne!(object_uuid("1", "item/0"), object_uuid("1", "item/1"));
    }
}
