//! The JSON bodies the writer sends, built from the plan, the tenant's ids, the time
//! and the site's timezone alone — so each can be tested to the byte, and the writer
//! only sequences them (`docs/revel-fields.md` lists every field and why).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use super::order_plan::{PlannedItem, PlannedOrder};
use super::tenant::RevelTotals;
use crate::money::Cents;

/// An amount as Revel takes it in totals: a JSON number with exactly two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Cents);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let number: serde_json::Number = self
            .0
            .to_string()
            .parse()
            .map_err(|_| serde::ser::Error::custom("an amount prints as a JSON number"))?;
        number.serialize(serializer)
    }
}

/// An amount as Revel's payments take it: the same exact two decimals, as text (the
/// form the earlier connector used in production). Every amount is one of these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountText(pub Cents);

impl Serialize for AmountText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Who writes, from where, and when: what every object carries.
#[derive(Debug, Clone)]
pub struct Context {
    pub user: u64,
    pub station: u64,
    pub dining_option: u64,
    pub payment_type: u64,
    pub discount: Option<u64>,
    pub timezone: Tz,
    pub now: DateTime<Utc>,
}

impl Context {
    fn user(&self) -> String {
        format!("/enterprise/User/{}/", self.user)
    }

    fn station(&self) -> String {
        format!("/resources/PosStation/{}/", self.station)
    }

    /// Naive site-local time: Revel files orders under the business date it reads.
    fn timestamp(&self) -> String {
        self.now
            .with_timezone(&self.timezone)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    }
}

fn order_uri(order_id: &str) -> String {
    format!("/resources/Order/{order_id}/")
}

fn establishment_uri(plan: &PlannedOrder) -> String {
    format!("/enterprise/Establishment/{}/", plan.establishment)
}

/// `POST /resources/Order/`: the empty order; its totals come with the finalize step.
#[derive(Debug, Serialize)]
pub struct OrderBody {
    pub uuid: String,
    pub establishment: String,
    pub local_id: String,
    pub notes: String,
    pub call_name: String,
    pub web_order: bool,
    pub pos_mode: &'static str,
    pub created_date: String,
    pub updated_date: String,
    pub created_by: String,
    pub updated_by: String,
    /// These three are station URIs, not times.
    pub station: String,
    pub created_at: String,
    pub last_updated_at: String,
    pub dining_option: u64,
    pub final_total: Amount,
    pub subtotal: Amount,
    pub tax: Amount,
    pub remaining_due: Amount,
    pub surcharge: Amount,
}

pub fn order(plan: &PlannedOrder, uuid: String, context: &Context) -> OrderBody {
    let zero = Amount(Cents::ZERO);
    OrderBody {
        uuid,
        establishment: establishment_uri(plan),
        local_id: plan.local_id.clone(),
        notes: plan.notes.clone(),
        call_name: plan.call_name.clone().unwrap_or_default(),
        web_order: true,
        pos_mode: "Q",
        created_date: context.timestamp(),
        updated_date: context.timestamp(),
        created_by: context.user(),
        updated_by: context.user(),
        station: context.station(),
        created_at: context.station(),
        last_updated_at: context.station(),
        dining_option: context.dining_option,
        final_total: zero,
        subtotal: zero,
        tax: zero,
        remaining_due: zero,
        surcharge: zero,
    }
}

/// `POST /resources/OrderItem/`: one invoice line at TripleSeat's unit price.
#[derive(Debug, Serialize)]
pub struct OrderItemBody {
    pub uuid: String,
    pub order: String,
    pub product: String,
    pub quantity: i64,
    pub price: Amount,
    pub initial_price: Amount,
    pub price_to_display: Amount,
    pub created_by: String,
    pub updated_by: String,
    pub station: String,
    pub created_date: String,
    pub updated_date: String,
    pub tax_amount: u8,
    pub tax_rate: u8,
    pub modifier_amount: u8,
    pub temp_sort: usize,
    pub dining_option: u64,
}

/// `None` when the item has no product (only a dry run without Revel plans one).
pub fn order_item(item: &PlannedItem, order_id: &str, uuid: String, context: &Context) -> Option<OrderItemBody> {
    let price = Amount(item.unit_price);
    Some(OrderItemBody {
        uuid,
        order: order_uri(order_id),
        product: format!("/resources/Product/{}/", item.product_id.as_deref()?),
        quantity: item.quantity,
        price,
        initial_price: price,
        price_to_display: price,
        created_by: context.user(),
        updated_by: context.user(),
        station: context.station(),
        created_date: context.timestamp(),
        updated_date: context.timestamp(),
        tax_amount: 0,
        tax_rate: 0,
        modifier_amount: 0,
        temp_sort: item.position,
        dining_option: context.dining_option,
    })
}

/// `PATCH /resources/Order/<id>/`: the invoice discount, applied after the items.
#[derive(Debug, Serialize)]
pub struct DiscountBody {
    pub discount: String,
    pub discount_amount: Amount,
    pub discount_rule_amount: Amount,
    pub discount_reason: String,
    pub discounted_by: String,
}

/// `None` when there is no discount (or no discount id to carry it).
pub fn discount(plan: &PlannedOrder, context: &Context) -> Option<DiscountBody> {
    let id = context.discount.filter(|_| plan.discount > Cents::ZERO)?;
    Some(DiscountBody {
        discount: format!("/resources/Discount/{id}/"),
        discount_amount: Amount(plan.discount),
        discount_rule_amount: Amount(plan.discount),
        discount_reason: plan.notes.clone(),
        discounted_by: context.user(),
    })
}

/// `POST /resources/Payment/`: what was paid; the amount as a string, as proven.
#[derive(Debug, Serialize)]
pub struct PaymentBody {
    pub uuid: String,
    pub order: String,
    pub payment_type: u64,
    pub amount: AmountText,
    pub tip: AmountText,
    pub payment_date: String,
    pub created_date: String,
    pub updated_date: String,
    pub created_by: String,
    pub updated_by: String,
    pub station: String,
    pub establishment: String,
}

/// `None` when nothing was paid.
pub fn payment(plan: &PlannedOrder, order_id: &str, uuid: String, context: &Context) -> Option<PaymentBody> {
    (plan.payment > Cents::ZERO).then(|| PaymentBody {
        uuid,
        order: order_uri(order_id),
        payment_type: context.payment_type,
        amount: AmountText(plan.payment),
        tip: AmountText(Cents::ZERO),
        payment_date: context.timestamp(),
        created_date: context.timestamp(),
        updated_date: context.timestamp(),
        created_by: context.user(),
        updated_by: context.user(),
        station: context.station(),
        establishment: establishment_uri(plan),
    })
}

/// `PATCH /resources/Order/<id>/` once the items, discount and payment are in: the
/// order's totals. By default (`REVEL_TOTALS=pos`) only the fields the earlier
/// connector wrote in production: subtotal, final total, discount and printed, so Revel
/// applies the establishment's own taxes. `invoice` also writes the invoice's tax, fees
/// and what is left to pay, for stores whose Revel tax is set to zero.
#[derive(Debug, Serialize)]
pub struct FinalizeBody {
    pub subtotal: Amount,
    pub discount_amount: Amount,
    pub final_total: Amount,
    pub printed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<String>,
    #[serde(flatten)]
    pub invoice: Option<InvoiceTotalsBody>,
}

/// What `REVEL_TOTALS=invoice` adds to the finalize step.
#[derive(Debug, Serialize)]
pub struct InvoiceTotalsBody {
    pub tax: Amount,
    pub surcharge: Amount,
    pub remaining_due: Amount,
    pub opened: bool,
}

pub fn finalize(plan: &PlannedOrder, totals: RevelTotals, discount_id: Option<u64>) -> FinalizeBody {
    FinalizeBody {
        subtotal: Amount(plan.subtotal),
        discount_amount: Amount(plan.discount),
        final_total: Amount(plan.total),
        printed: true,
        discount: discount_id
            .filter(|_| plan.discount > Cents::ZERO)
            .map(|discount| format!("/resources/Discount/{discount}/")),
        invoice: (totals == RevelTotals::Invoice).then(|| InvoiceTotalsBody {
            tax: Amount(plan.tax),
            surcharge: Amount(plan.surcharge),
            remaining_due: Amount(plan.total - plan.payment),
            opened: true,
        }),
    }
}

/// The second `PATCH` when Revel did not keep `printed` the first time.
#[derive(Debug, Serialize)]
pub struct PrintedBody {
    pub printed: bool,
}

/// `POST /resources/OrderHistory/`, written last: its presence means every step ran.
#[derive(Debug, Serialize)]
pub struct HistoryBody {
    pub uuid: String,
    pub order: String,
    pub order_opened_by: String,
    pub order_opened_at: String,
    pub opened: String,
    /// Set when the order is fully paid, so it shows as closed in Order History.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
}

pub fn history(plan: &PlannedOrder, order_id: &str, uuid: String, context: &Context) -> HistoryBody {
    HistoryBody {
        uuid,
        order: order_uri(order_id),
        order_opened_by: context.user(),
        order_opened_at: context.station(),
        opened: context.timestamp(),
        closed: plan.is_fully_paid.then(|| context.timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::Value;

    fn context() -> Context {
        Context {
            user: 11,
            station: 22,
            dining_option: 3,
            payment_type: 44,
            discount: Some(55),
            timezone: chrono_tz::America::Los_Angeles,
            now: Utc.with_ymd_and_hms(2026, 5, 16, 15, 30, 0).unwrap(),
        }
    }

    fn plan() -> PlannedOrder {
        PlannedOrder {
            establishment: "4".into(),
            local_id: "Triple Seat 61234567".into(),
            items: vec![PlannedItem {
                line_id: "8800101".into(),
                position: 0,
                name: "Glazed Classic".into(),
                product_id: Some("1001".into()),
                quantity: 24,
                unit_price: Cents(2_25),
            }],
            subtotal: Cents(153_00),
            discount: Cents(15_30),
            tax: Cents::ZERO,
            surcharge: Cents::ZERO,
            total: Cents(137_70),
            payment: Cents(137_70),
            is_fully_paid: true,
            call_name: Some("Dana Whitfield 702-555-0147".into()),
            notes: "Triple Seat Event #61234567".into(),
            unmatched_items: vec![],
            invoice_fingerprint: "0011223344556677".into(),
        }
    }

    /// The expected body, its numbers exactly as written (`15.30` stays `15.30`).
    fn exact(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn json_of(body: impl Serialize) -> Value {
        serde_json::to_value(body).unwrap()
    }

    #[test]
    fn the_order_body_is_exactly_this() {
        let body = json_of(order(&plan(), "u-order".into(), &context()));
        assert_eq!(
            body,
            exact(
                r#"{
                "uuid": "u-order", "establishment": "/enterprise/Establishment/4/",
                "local_id": "Triple Seat 61234567", "notes": "Triple Seat Event #61234567",
                "call_name": "Dana Whitfield 702-555-0147", "web_order": true, "pos_mode": "Q",
                "created_date": "2026-05-16T08:30:00", "updated_date": "2026-05-16T08:30:00",
                "created_by": "/enterprise/User/11/", "updated_by": "/enterprise/User/11/",
                "station": "/resources/PosStation/22/", "created_at": "/resources/PosStation/22/",
                "last_updated_at": "/resources/PosStation/22/", "dining_option": 3,
                "final_total": 0.00, "subtotal": 0.00, "tax": 0.00, "remaining_due": 0.00, "surcharge": 0.00
            }"#
            )
        );
        assert_eq!(serde_json::to_string(&body["final_total"]).unwrap(), "0.00");
    }

    #[test]
    fn the_item_body_carries_tripleseat_s_price_and_the_invoice_position() {
        let item = &plan().items[0];
        let body = json_of(order_item(item, "46", "u-item".into(), &context()).unwrap());
        assert_eq!(
            body,
            exact(
                r#"{
                "uuid": "u-item", "order": "/resources/Order/46/", "product": "/resources/Product/1001/",
                "quantity": 24, "price": 2.25, "initial_price": 2.25, "price_to_display": 2.25,
                "created_by": "/enterprise/User/11/", "updated_by": "/enterprise/User/11/",
                "station": "/resources/PosStation/22/", "created_date": "2026-05-16T08:30:00",
                "updated_date": "2026-05-16T08:30:00", "tax_amount": 0, "tax_rate": 0,
                "modifier_amount": 0, "temp_sort": 0, "dining_option": 3
            }"#
            )
        );
        assert_eq!(serde_json::to_string(&body["price"]).unwrap(), "2.25");
        let mut no_product = item.clone();
        no_product.product_id = None;
        assert!(order_item(&no_product, "46", "u".into(), &context()).is_none());
    }

    #[test]
    fn the_finalize_body_is_exactly_this_for_each_totals_setting() {
        let plan = plan();
        assert_eq!(
            json_of(finalize(&plan, RevelTotals::Pos, Some(55))),
            exact(
                r#"{"subtotal": 153.00, "discount_amount": 15.30, "final_total": 137.70, "printed": true,
                   "discount": "/resources/Discount/55/"}"#
            )
        );
        assert_eq!(
            json_of(finalize(&plan, RevelTotals::Invoice, None)),
            exact(
                r#"{"subtotal": 153.00, "discount_amount": 15.30, "final_total": 137.70, "printed": true,
                   "tax": 0.00, "surcharge": 0.00, "remaining_due": 0.00, "opened": true}"#
            )
        );
        let mut undiscounted = plan.clone();
        undiscounted.discount = Cents::ZERO;
        assert!(json_of(finalize(&undiscounted, RevelTotals::Pos, Some(55)))
            .get("discount")
            .is_none());
    }

    #[test]
    fn discount_payment_and_history_bodies_are_exactly_these() {
        let plan = plan();
        assert_eq!(
            json_of(discount(&plan, &context()).unwrap()),
            exact(
                r#"{"discount": "/resources/Discount/55/", "discount_amount": 15.30, "discount_rule_amount": 15.30,
                   "discount_reason": "Triple Seat Event #61234567", "discounted_by": "/enterprise/User/11/"}"#
            )
        );
        assert_eq!(
            json_of(payment(&plan, "46", "u-pay".into(), &context()).unwrap()),
            exact(
                r#"{"uuid": "u-pay", "order": "/resources/Order/46/", "payment_type": 44, "amount": "137.70",
                   "tip": "0.00", "payment_date": "2026-05-16T08:30:00", "created_date": "2026-05-16T08:30:00",
                   "updated_date": "2026-05-16T08:30:00", "created_by": "/enterprise/User/11/",
                   "updated_by": "/enterprise/User/11/", "station": "/resources/PosStation/22/",
                   "establishment": "/enterprise/Establishment/4/"}"#
            )
        );
        assert_eq!(
            json_of(history(&plan, "46", "u-hist".into(), &context())),
            exact(
                r#"{"uuid": "u-hist", "order": "/resources/Order/46/", "order_opened_by": "/enterprise/User/11/",
                   "order_opened_at": "/resources/PosStation/22/", "opened": "2026-05-16T08:30:00",
                   "closed": "2026-05-16T08:30:00"}"#
            )
        );
        let mut unpaid = plan.clone();
        unpaid.is_fully_paid = false;
        unpaid.payment = Cents::ZERO;
        unpaid.discount = Cents::ZERO;
        assert!(payment(&unpaid, "46", "u".into(), &context()).is_none());
        assert!(discount(&unpaid, &context()).is_none());
        assert!(json_of(history(&unpaid, "46", "u".into(), &context()))
            .get("closed")
            .is_none());
    }
}
