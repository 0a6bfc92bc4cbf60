//! The business rules, a pure function of the merged event and the rules:
//! an injectable status, a settled invoice, payments covering its total, and at
//! least one line item. What passes becomes a `ValidatedEvent` in exact cents.

use chrono::NaiveDate;
use serde_json::Value;

use crate::config::Rules;
use crate::money::Cents;
use crate::tripleseat::event::{find_invoice, EventFacts, InvoiceLine, UnreadableLine};

/// Which rule failed; each is one `VALIDATION_FAILED_*` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationFailure {
    StatusNotInjectable,
    NoBillingInvoice,
    InvoiceNotClosed,
    PaymentInsufficient,
    NoLineItems,
    /// A line item, or the invoice's amounts, cannot be read: never ordered without it.
    UnreadableLineItem(UnreadableLine),
}

impl ValidationFailure {
    pub fn code(&self) -> &'static str {
        match self {
            ValidationFailure::StatusNotInjectable => "STATUS_NOT_INJECTABLE",
            ValidationFailure::NoBillingInvoice => "NO_BILLING_INVOICE",
            ValidationFailure::InvoiceNotClosed => "INVOICE_NOT_CLOSED",
            ValidationFailure::PaymentInsufficient => "PAYMENT_INSUFFICIENT",
            ValidationFailure::NoLineItems => "NO_LINE_ITEMS",
            ValidationFailure::UnreadableLineItem(_) => "UNREADABLE_LINE_ITEM",
        }
    }
}

/// The invoice's money, as the order must reproduce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceTotals {
    /// Σ quantity × unit price over the lines.
    pub subtotal: Cents,
    /// The invoice discount, as a positive amount.
    pub discount: Cents,
    /// Tax from the billing totals.
    pub tax: Cents,
    /// What the customer owes in all: items, less discount, plus tax, gratuity and fees.
    pub grand_total: Cents,
    /// Paid payments less refunds.
    pub paid: Cents,
}

/// An event that passed every rule: what the order is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedEvent {
    pub facts: EventFacts,
    pub date: NaiveDate,
    pub lines: Vec<InvoiceLine>,
    pub totals: InvoiceTotals,
}

/// Every amount the invoice states, each of which must be within the bound.
fn invoice_amounts(invoice: &crate::tripleseat::event::Invoice, facts: &EventFacts) -> Vec<Cents> {
    let stated = [
        invoice.grand_total,
        invoice.discounts_total,
        invoice.amount_due,
        facts.grand_total,
        facts.amount_due,
        Some(invoice.paid),
    ];
    stated
        .into_iter()
        .flatten()
        .chain(invoice.billing_totals.iter().map(|t| t.amount))
        .collect()
}

fn too_large() -> ValidationFailure {
    ValidationFailure::UnreadableLineItem(UnreadableLine {
        line: "the invoice's amounts".into(),
        problem: format!("they reach more than {} and cannot be real", Cents::MAX_INVOICE_AMOUNT),
    })
}

/// Each amount within `Cents::MAX_INVOICE_AMOUNT`, so sums of a few of them never overflow.
fn bounded(amounts: &[Cents]) -> Result<(), ValidationFailure> {
    match amounts.iter().all(|a| a.is_within_invoice_bound()) {
        true => Ok(()),
        false => Err(too_large()),
    }
}

/// A sum that fits and stays within the bound.
fn bounded_sum(amounts: Vec<Cents>) -> Result<Cents, ValidationFailure> {
    Cents::checked_sum(amounts)
        .filter(|sum| sum.is_within_invoice_bound())
        .ok_or_else(too_large)
}

pub fn validate(
    event: &Value,
    event_id: &str,
    date: NaiveDate,
    rules: &Rules,
) -> Result<ValidatedEvent, ValidationFailure> {
    let facts = EventFacts::read(event, event_id);
    let status = facts.status.as_deref().unwrap_or("");
    if !rules.inject_statuses.iter().any(|s| s == status) {
        return Err(ValidationFailure::StatusNotInjectable);
    }
    let invoice = find_invoice(event)
        .map_err(ValidationFailure::UnreadableLineItem)?
        .ok_or(ValidationFailure::NoBillingInvoice)?;
    bounded(&invoice_amounts(&invoice, &facts))?;

    let sum = |amounts: Vec<Cents>| bounded_sum(amounts);
    let subtotal = sum(invoice.lines.iter().map(InvoiceLine::total).collect())?;
    let discount = match invoice.discounts_total {
        Some(total) => total.abs(),
        None => sum(invoice
            .billing_totals
            .iter()
            .filter(|t| t.amount < Cents::ZERO)
            .map(|t| t.amount.abs())
            .collect())?,
    };
    let tax = sum(invoice
        .billing_totals
        .iter()
        .filter(|t| t.is_tax() && t.amount > Cents::ZERO)
        .map(|t| t.amount)
        .collect())?;
    let fees = sum(invoice
        .billing_totals
        .iter()
        .filter(|t| t.amount > Cents::ZERO)
        .map(|t| t.amount)
        .collect())?;
    let grand_total = invoice
        .grand_total
        .or(facts.grand_total)
        .unwrap_or(subtotal - discount + fees);
    let amount_due = invoice.amount_due.or(facts.amount_due);

    let is_settled = status == "CLOSED" || amount_due.is_some_and(|due| due <= Cents::ZERO);
    if rules.require_closed_invoice && !is_settled {
        return Err(ValidationFailure::InvoiceNotClosed);
    }
    if rules.require_full_payment && grand_total > Cents::ZERO && invoice.paid < grand_total {
        return Err(ValidationFailure::PaymentInsufficient);
    }
    if invoice.lines.is_empty() {
        return Err(ValidationFailure::NoLineItems);
    }
    Ok(ValidatedEvent {
        facts,
        date,
        lines: invoice.lines,
        totals: InvoiceTotals {
            subtotal,
            discount,
            tax,
            grand_total,
            paid: invoice.paid,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Rules {
        Rules {
            inject_statuses: vec!["DEFINITE".into(), "CLOSED".into()],
            require_closed_invoice: true,
            require_full_payment: true,
        }
    }

    fn fixture() -> Value {
        serde_json::from_str::<Value>(include_str!("../../tests/fixtures/event_full.json")).unwrap()["event"].clone()
    }

    fn invoice_mut(event: &mut Value) -> &mut Value {
        &mut event["documents"][1]
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 16).unwrap()
    }

    fn check(event: &Value) -> Result<InvoiceTotals, ValidationFailure> {
        validate(event, "61234567", date(), &rules()).map(|v| v.totals)
    }

    #[test]
    fn the_fixture_passes_with_exact_totals() {
        let totals = check(&fixture()).unwrap();
        assert_eq!(
            totals,
            InvoiceTotals {
                subtotal: Cents(153_00),
                discount: Cents(15_30),
                tax: Cents::ZERO,
                grand_total: Cents(137_70),
                paid: Cents(137_70),
            }
        );
    }

    #[test]
    fn each_rule_fails_on_its_own_case() {
        type Edit = fn(&mut Value);
        let cases: Vec<(&str, Edit, Result<(), ValidationFailure>)> = vec![
            ("unchanged", |_| {}, Ok(())),
            (
                "tentative status",
                |e| e["status"] = json!("TENTATIVE"),
                Err(ValidationFailure::StatusNotInjectable),
            ),
            (
                "missing status",
                |e| e["status"] = json!(null),
                Err(ValidationFailure::StatusNotInjectable),
            ),
            ("lower-case status", |e| e["status"] = json!("definite"), Ok(())),
            (
                "no invoice",
                |e| {
                    e["documents"].as_array_mut().unwrap().remove(1);
                },
                Err(ValidationFailure::NoBillingInvoice),
            ),
            (
                "no documents",
                |e| e["documents"] = json!([]),
                Err(ValidationFailure::NoBillingInvoice),
            ),
            (
                "invoice with an amount due",
                |e| {
                    invoice_mut(e)["financials"]["amount_due"] = json!("87.70");
                    invoice_mut(e)["payment_set"]["payments"][1]["state"] = json!("pending");
                },
                Err(ValidationFailure::InvoiceNotClosed),
            ),
            (
                "amount due but CLOSED status",
                |e| {
                    e["status"] = json!("CLOSED");
                    invoice_mut(e)["financials"]["amount_due"] = json!("0.01");
                    invoice_mut(e)["payment_set"]["payments"][1]["amount"] = json!("87.69");
                },
                Err(ValidationFailure::PaymentInsufficient),
            ),
            (
                "payments short by one cent",
                |e| invoice_mut(e)["payment_set"]["payments"][1]["amount"] = json!("87.69"),
                Err(ValidationFailure::PaymentInsufficient),
            ),
            (
                "payments as numbers",
                |e| {
                    invoice_mut(e)["payment_set"]["payments"][0]["amount"] = json!(50);
                    invoice_mut(e)["payment_set"]["payments"][1]["amount"] = json!(87.70);
                },
                Ok(()),
            ),
            (
                "a refund leaves it short",
                |e| invoice_mut(e)["payment_set"]["payments"][0]["amount_refunded"] = json!("10.00"),
                Err(ValidationFailure::PaymentInsufficient),
            ),
            (
                "a refund of an overpayment still covers it",
                |e| {
                    invoice_mut(e)["payment_set"]["payments"][0]["amount"] = json!("60.00");
                    invoice_mut(e)["payment_set"]["payments"][0]["amount_refunded"] = json!("10.00");
                },
                Ok(()),
            ),
            (
                "a total of zero needs no payment",
                |e| {
                    invoice_mut(e)["financials"]["grand_total"] = json!("0.00");
                    invoice_mut(e)["payment_set"]["payments"] = json!([]);
                },
                Ok(()),
            ),
            (
                "no line items",
                |e| invoice_mut(e)["line_items"] = json!([]),
                Err(ValidationFailure::NoLineItems),
            ),
            (
                "money as numbers",
                |e| {
                    invoice_mut(e)["financials"] =
                        json!({"amount_due": 0, "grand_total": 137.7, "discounts_total": 15.3});
                    invoice_mut(e)["line_items"][0]["price"] = json!(2.25);
                },
                Ok(()),
            ),
        ];
        for (description, edit, expected) in cases {
            let mut event = fixture();
            edit(&mut event);
            assert_eq!(check(&event).map(|_| ()), expected, "{description}");
        }
    }

    #[test]
    fn the_rules_can_be_relaxed() {
        let mut event = fixture();
        invoice_mut(&mut event)["financials"]["amount_due"] = json!("87.70");
        invoice_mut(&mut event)["payment_set"]["payments"][1]["state"] = json!("pending");
        let relaxed = Rules {
            require_closed_invoice: false,
            require_full_payment: false,
            ..rules()
        };
        let validated = validate(&event, "1", date(), &relaxed).unwrap();
        assert_eq!(validated.totals.paid, Cents(50_00));
    }

    #[test]
    fn totals_fall_back_to_the_event_and_billing_totals() {
        let mut event = fixture();
        invoice_mut(&mut event)["financials"] = json!(null);
        invoice_mut(&mut event)["billing_totals"] = json!([{"description": "Event Discount", "total_price": "-15.30"}, {"description": "Sales Tax", "total_price": "11.53"}]);
        event["grand_total"] = json!("149.23");
        invoice_mut(&mut event)["payment_set"]["payments"][1]["amount"] = json!("99.23");
        let totals = check(&event).unwrap();
        assert_eq!(totals.discount, Cents(15_30));
        assert_eq!(totals.tax, Cents(11_53));
        assert_eq!(totals.grand_total, Cents(149_23));
    }
}
