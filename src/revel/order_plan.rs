//! The order plan, a pure function of the validated event, the location and the
//! catalogue: one item per invoice line at TripleSeat's unit price, the discount,
//! tax and other charges, and one payment.
//!
//! Invariant: `subtotal - discount + tax + surcharge == total == grand total` and the
//! order is fully paid exactly when the invoice is. Whatever the invoice's grand
//! total holds beyond items less discount (tax, gratuity, fees, rounding) is split
//! into tax and surcharge; a grand total below items less discount is an extra
//! discount. With `ALLOW_PARTIAL_ORDERS`, unmatched lines leave the order and their
//! value leaves its total.

use serde::Serialize;

use super::product_match::Catalog;
use crate::locations::Location;
use crate::money::Cents;
use crate::pipeline::validation::ValidatedEvent;
use crate::tripleseat::event::InvoiceTotals;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedItem {
    /// The TripleSeat line it comes from: a resumed order finds its item by it.
    #[serde(skip)]
    pub line_id: String,
    /// Its place on the invoice, kept as the item's sort order in Revel.
    #[serde(skip)]
    pub position: usize,
    pub name: String,
    /// The Revel product; `None` only in a dry run without a Revel connection.
    pub product_id: Option<String>,
    pub quantity: i64,
    pub unit_price: Cents,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlannedOrder {
    pub establishment: String,
    pub local_id: String,
    pub items: Vec<PlannedItem>,
    pub subtotal: Cents,
    pub discount: Cents,
    pub tax: Cents,
    pub surcharge: Cents,
    pub total: Cents,
    pub payment: Cents,
    pub is_fully_paid: bool,
    pub call_name: Option<String>,
    pub notes: String,
    /// Lines left out under `ALLOW_PARTIAL_ORDERS`.
    pub unmatched_items: Vec<String>,
    /// The invoice this plan was made from (its lines and money), so that an order
    /// started from one invoice is never completed from another.
    #[serde(skip)]
    pub invoice_fingerprint: String,
}

/// Lines that match no product, when partial orders are not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched(pub Vec<String>);

/// How products are resolved for the plan.
pub struct Matching<'a> {
    /// `None`: no Revel connection (a dry run only), so no product ids.
    pub catalog: Option<&'a Catalog>,
    pub threshold: f64,
    pub allow_partial: bool,
}

pub fn plan_order(
    event: &ValidatedEvent,
    location: &Location,
    matching: &Matching<'_>,
) -> Result<PlannedOrder, Unmatched> {
    let products = match_lines(event, matching);
    if !products.unmatched.is_empty() && (!matching.allow_partial || products.items.is_empty()) {
        return Err(Unmatched(products.unmatched));
    }
    let money = Money::of(event.totals, &products.items, products.unmatched_value);
    Ok(PlannedOrder {
        establishment: location.revel_establishment.clone(),
        local_id: super::local_id(&event.facts.id),
        items: products.items,
        subtotal: money.subtotal,
        discount: money.discount,
        tax: money.tax,
        surcharge: money.surcharge,
        total: money.total,
        payment: money.payment,
        is_fully_paid: money.payment >= money.total,
        call_name: call_name(event),
        notes: format!("Triple Seat Event #{}", event.facts.id),
        unmatched_items: products.unmatched,
        invoice_fingerprint: invoice_fingerprint(event),
    })
}

/// Each line with its product, and the lines that have none.
struct MatchedLines {
    items: Vec<PlannedItem>,
    unmatched: Vec<String>,
    /// What the unmatched lines are worth, left out of the order's total.
    unmatched_value: Cents,
}

fn match_lines(event: &ValidatedEvent, matching: &Matching<'_>) -> MatchedLines {
    let mut matched = MatchedLines {
        items: Vec::with_capacity(event.lines.len()),
        unmatched: Vec::new(),
        unmatched_value: Cents::ZERO,
    };
    for (position, line) in event.lines.iter().enumerate() {
        let product_id = match matching.catalog {
            None => None,
            Some(catalog) => match catalog.best_match(&line.name, matching.threshold) {
                Some(product) => Some(product.id.clone()),
                None => {
                    matched.unmatched.push(line.name.clone());
                    matched.unmatched_value += line.total();
                    continue;
                }
            },
        };
        matched.items.push(PlannedItem {
            line_id: line.id.clone(),
            position,
            name: line.name.clone(),
            product_id,
            quantity: line.quantity,
            unit_price: line.unit_price,
        });
    }
    matched
}

/// The order's money: the items at TripleSeat's prices, and what the invoice adds or
/// takes off, so that the order's total is the invoice's (less any line left out).
struct Money {
    subtotal: Cents,
    discount: Cents,
    tax: Cents,
    surcharge: Cents,
    total: Cents,
    payment: Cents,
}

impl Money {
    fn of(totals: InvoiceTotals, items: &[PlannedItem], unmatched_value: Cents) -> Money {
        let subtotal: Cents = items.iter().map(|i| i.unit_price.times(i.quantity)).sum();
        let total = totals.grand_total - unmatched_value;
        let charges = total - (subtotal - totals.discount);
        let (discount, tax, surcharge) = if charges >= Cents::ZERO {
            let tax = totals.tax.min(charges);
            (totals.discount, tax, charges - tax)
        } else {
            (totals.discount - charges, Cents::ZERO, Cents::ZERO)
        };
        Money {
            subtotal,
            discount,
            tax,
            surcharge,
            total,
            payment: totals.paid.min(total).max(Cents::ZERO),
        }
    }
}

/// The name Revel calls the order by: the customer and their phone, as far as known.
fn call_name(event: &ValidatedEvent) -> Option<String> {
    match (&event.facts.customer_name, &event.facts.customer_phone) {
        (Some(name), Some(phone)) => Some(format!("{name} {phone}")),
        (Some(name), None) => Some(name.clone()),
        (None, Some(phone)) => Some(phone.clone()),
        (None, None) => None,
    }
}

/// A short digest of what the customer was invoiced: each line's id, quantity and unit
/// price, and the invoice's money. Names are left out: they only choose the product.
pub fn invoice_fingerprint(event: &ValidatedEvent) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for line in &event.lines {
        digest.update(format!("{}\t{}\t{}\n", line.id, line.quantity, line.unit_price.0));
    }
    let t = event.totals;
    digest.update(format!(
        "{} {} {} {} {}",
        t.subtotal.0, t.discount.0, t.tax.0, t.grand_total.0, t.paid.0
    ));
    hex::encode(&digest.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::validation::{validate, Rules};
    use crate::tripleseat::event::{Event, InvoiceTotals};
    use chrono::NaiveDate;
    use serde_json::Value;

    fn event() -> ValidatedEvent {
        let json: Value = serde_json::from_str(include_str!("../../tests/fixtures/event_full.json")).unwrap();
        let rules = Rules {
            inject_statuses: vec!["DEFINITE".into()],
            require_closed_invoice: true,
            require_full_payment: true,
        };
        let event = Event::from_json(&json["event"]).unwrap();
        validate(&event, NaiveDate::from_ymd_opt(2026, 5, 16).unwrap(), &rules).unwrap()
    }

    fn location() -> Location {
        Location {
            site_id: "15901".into(),
            name: "Summerlin".into(),
            revel_establishment: "4".into(),
            timezone: chrono_tz::America::Los_Angeles,
        }
    }

    fn catalog(names: &[&str]) -> Catalog {
        Catalog::new(
            names
                .iter()
                .enumerate()
                .map(|(i, name)| crate::revel::product::Product::new((100 + i).to_string(), *name, Some(Cents(1_00))))
                .collect(),
        )
    }

    fn matching(catalog: &Catalog, allow_partial: bool) -> Matching<'_> {
        Matching {
            catalog: Some(catalog),
            threshold: 0.75,
            allow_partial,
        }
    }

    fn assert_invariant(plan: &PlannedOrder) {
        assert_eq!(
            plan.subtotal - plan.discount + plan.tax + plan.surcharge,
            plan.total,
            "{plan:?}"
        );
    }

    #[test]
    fn the_fixture_plans_to_the_invoice_to_the_cent() {
        let catalog = catalog(&[
            "Glazed Classic",
            "Maple Bar",
            "Chocolate Sprinkle Ring",
            "Coffee Carafe",
        ]);
        let plan = plan_order(&event(), &location(), &matching(&catalog, false)).unwrap();
        assert_eq!(plan.items.len(), 4);
        assert_eq!(plan.items[0].product_id.as_deref(), Some("100"));
        assert_eq!(
            plan.items[0].unit_price,
            Cents(2_25),
            "TripleSeat's price, not the catalogue's"
        );
        assert_eq!(plan.subtotal, Cents(153_00));
        assert_eq!(plan.discount, Cents(15_30));
        assert_eq!(plan.tax, Cents::ZERO);
        assert_eq!(plan.total, Cents(137_70));
        assert_eq!(plan.payment, Cents(137_70));
        assert!(plan.is_fully_paid);
        assert_eq!(plan.local_id, "Triple Seat 61234567");
        assert_eq!(plan.notes, "Triple Seat Event #61234567");
        assert_eq!(plan.call_name.as_deref(), Some("Dana Whitfield 702-555-0147"));
        assert_invariant(&plan);
    }

    #[test]
    fn charges_beyond_the_items_become_tax_and_surcharge() {
        let catalog = catalog(&[
            "Glazed Classic",
            "Maple Bar",
            "Chocolate Sprinkle Ring",
            "Coffee Carafe",
        ]);
        let cases = [
            (
                "tax and gratuity",
                Cents(11_53),
                Cents(137_70 + 11_53 + 20_00),
                (Cents(15_30), Cents(11_53), Cents(20_00)),
            ),
            (
                "tax only",
                Cents(11_53),
                Cents(137_70 + 11_53),
                (Cents(15_30), Cents(11_53), Cents::ZERO),
            ),
            (
                "grand total below items less discount",
                Cents::ZERO,
                Cents(130_00),
                (Cents(23_00), Cents::ZERO, Cents::ZERO),
            ),
        ];
        for (description, tax, grand_total, (discount, expected_tax, surcharge)) in cases {
            let mut event = event();
            event.totals = InvoiceTotals {
                tax,
                grand_total,
                paid: grand_total,
                ..event.totals
            };
            let plan = plan_order(&event, &location(), &matching(&catalog, false)).unwrap();
            assert_eq!(
                (plan.discount, plan.tax, plan.surcharge),
                (discount, expected_tax, surcharge),
                "{description}"
            );
            assert_eq!(plan.total, grand_total, "{description}");
            assert_invariant(&plan);
        }
    }

    #[test]
    fn unmatched_lines_stop_the_plan_unless_partial_orders_are_allowed() {
        let catalog = catalog(&["Glazed Classic", "Maple Bar"]);
        let refused = plan_order(&event(), &location(), &matching(&catalog, false)).unwrap_err();
        assert_eq!(
            refused,
            Unmatched(vec!["Chocolate Sprinkle Ring".into(), "Coffee Carafe".into()])
        );

        let partial = plan_order(&event(), &location(), &matching(&catalog, true)).unwrap();
        assert_eq!(partial.items.len(), 2);
        assert_eq!(partial.unmatched_items.len(), 2);
        assert_eq!(partial.subtotal, Cents(87_00));
        assert_eq!(partial.total, Cents(137_70 - 66_00));
        assert!(partial.is_fully_paid);
        assert_invariant(&partial);

        let none = plan_order(&event(), &location(), &matching(&Catalog::default(), true)).unwrap_err();
        assert_eq!(none.0.len(), 4, "an order with no items at all is never written");
    }

    #[test]
    fn an_underpaid_invoice_plans_an_underpaid_order() {
        let catalog = catalog(&[
            "Glazed Classic",
            "Maple Bar",
            "Chocolate Sprinkle Ring",
            "Coffee Carafe",
        ]);
        let mut event = event();
        event.totals.paid = Cents(50_00);
        let plan = plan_order(&event, &location(), &matching(&catalog, false)).unwrap();
        assert_eq!(plan.payment, Cents(50_00));
        assert!(!plan.is_fully_paid);
    }

    #[test]
    fn without_a_catalogue_items_have_no_product_ids() {
        let plan = plan_order(
            &event(),
            &location(),
            &Matching {
                catalog: None,
                threshold: 0.75,
                allow_partial: false,
            },
        )
        .unwrap();
        assert!(plan.items.iter().all(|i| i.product_id.is_none()));
        assert_eq!(plan.total, Cents(137_70));
    }
}
