//! The JSON answer of the webhook routes: the only place that knows its field names.
//! Whatever happened (a verdict, bad input, a panic, a blown deadline), it is
//! rendered here, always as HTTP 200 with `X-Request-Id`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::money::Cents;
use crate::pipeline::outcome::{Answer, GateState, Outcome};
use crate::revel::order_plan::PlannedOrder;

#[derive(Debug, Serialize)]
struct AnswerJson<'a> {
    ok: bool,
    processed: bool,
    trigger: Option<&'a str>,
    reason: Option<&'static str>,
    correlation_id: &'a str,
    dry_run: bool,
    event_id: Option<&'a str>,
    site_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_gate: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revel_order_id: Option<&'a str>,
    /// On `REVEL_DUPLICATE_ORDER`: every order Revel holds for the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    revel_order_ids: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    planned_order: Option<PlannedOrderView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unmatched_items: Option<&'a [String]>,
}

#[derive(Debug, Serialize)]
struct PlannedOrderView<'a> {
    establishment: &'a str,
    local_id: &'a str,
    items: Vec<PlannedItemView<'a>>,
    subtotal: Cents,
    discount: Cents,
    tax: Cents,
    surcharge: Cents,
    total: Cents,
    payment: Cents,
    is_fully_paid: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    unmatched_items: &'a [String],
}

#[derive(Debug, Serialize)]
struct PlannedItemView<'a> {
    name: &'a str,
    product_id: Option<&'a str>,
    quantity: i64,
    unit_price: Cents,
}

impl<'a> PlannedOrderView<'a> {
    fn of(plan: &'a PlannedOrder) -> PlannedOrderView<'a> {
        PlannedOrderView {
            establishment: &plan.establishment,
            local_id: &plan.local_id,
            items: plan
                .items
                .iter()
                .map(|item| PlannedItemView {
                    name: &item.name,
                    product_id: item.product_id.as_deref(),
                    quantity: item.quantity,
                    unit_price: item.unit_price,
                })
                .collect(),
            subtotal: plan.subtotal,
            discount: plan.discount,
            tax: plan.tax,
            surcharge: plan.surcharge,
            total: plan.total,
            payment: plan.payment,
            is_fully_paid: plan.is_fully_paid,
            unmatched_items: &plan.unmatched_items,
        }
    }
}

/// The answer, from the answer alone.
pub fn render(answer: &Answer, correlation_id: &str) -> Response {
    let outcome = &answer.outcome;
    let json = AnswerJson {
        ok: outcome.is_ok(),
        processed: outcome.is_processed(),
        trigger: answer.trigger.as_deref(),
        reason: Some(outcome.reason()),
        correlation_id,
        dry_run: answer.dry_run,
        event_id: answer.event_id.as_deref(),
        site_id: answer.site_id.as_deref(),
        time_gate: answer.time_gate().map(|state| match state {
            GateState::Open => "OPEN",
            GateState::Closed => "CLOSED",
            GateState::Unknown => "UNKNOWN",
        }),
        revel_order_id: outcome.revel_order_id(),
        revel_order_ids: match outcome {
            Outcome::RevelDuplicateOrder { order_ids } => Some(order_ids),
            _ => None,
        },
        authorization_status: matches!(outcome, Outcome::TripleseatAuthorizationDenied).then_some("DENIED"),
        planned_order: answer.planned_order().map(PlannedOrderView::of),
        unmatched_items: match outcome {
            Outcome::ItemsUnmatched { names } => Some(names),
            _ => None,
        },
    };
    let mut response = (StatusCode::OK, Json(json)).into_response();
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
