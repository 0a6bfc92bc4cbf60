//! The business rules, a pure function of the event, its day and the rules: an
//! injectable status, a settled invoice, payments covering its total, and at least
//! one line item. What passes becomes a `ValidatedEvent`.

use chrono::NaiveDate;

use crate::money::Cents;
use crate::tripleseat::event::{Event, EventFacts, InvoiceTotals, LineItem, Unreadable, UnreadableLine};

/// The business rules of validation.
#[derive(Debug, Clone)]
pub struct Rules {
    /// `INJECT_STATUSES`, default `DEFINITE,CLOSED`, upper-cased.
    pub inject_statuses: Vec<String>,
    /// `REQUIRE_CLOSED_INVOICE`, default true.
    pub require_closed_invoice: bool,
    /// `REQUIRE_FULL_PAYMENT`, default true.
    pub require_full_payment: bool,
}

impl Rules {
    fn injects(&self, status: Option<&str>) -> bool {
        let status = status.unwrap_or("");
        self.inject_statuses.iter().any(|s| s == status)
    }
}

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
    /// The full reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            ValidationFailure::StatusNotInjectable => "VALIDATION_FAILED_STATUS_NOT_INJECTABLE",
            ValidationFailure::NoBillingInvoice => "VALIDATION_FAILED_NO_BILLING_INVOICE",
            ValidationFailure::InvoiceNotClosed => "VALIDATION_FAILED_INVOICE_NOT_CLOSED",
            ValidationFailure::PaymentInsufficient => "VALIDATION_FAILED_PAYMENT_INSUFFICIENT",
            ValidationFailure::NoLineItems => "VALIDATION_FAILED_NO_LINE_ITEMS",
            ValidationFailure::UnreadableLineItem(_) => "VALIDATION_FAILED_UNREADABLE_LINE_ITEM",
        }
    }

    /// The code after `VALIDATION_FAILED_`.
    pub fn code(&self) -> &'static str {
        &self.reason()["VALIDATION_FAILED_".len()..]
    }
}

/// An event that passed every rule: what the order is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedEvent {
    pub facts: EventFacts,
    pub date: NaiveDate,
    pub lines: Vec<LineItem>,
    pub totals: InvoiceTotals,
}

/// The verdict on an event that could not be read: one that is not to be injected
/// is refused for its status (an unreadable line on it is nobody's problem yet).
pub fn refuse_unreadable(refused: Unreadable, rules: &Rules) -> ValidationFailure {
    match rules.injects(refused.status.as_deref()) {
        true => ValidationFailure::UnreadableLineItem(refused.line),
        false => ValidationFailure::StatusNotInjectable,
    }
}

pub fn validate(event: &Event, day: NaiveDate, rules: &Rules) -> Result<ValidatedEvent, ValidationFailure> {
    let status = event.facts.status.as_deref();
    if !rules.injects(status) {
        return Err(ValidationFailure::StatusNotInjectable);
    }
    let invoice = event.invoice.as_ref().ok_or(ValidationFailure::NoBillingInvoice)?;
    let totals = invoice.totals;
    let is_settled = status == Some("CLOSED") || invoice.amount_due.is_some_and(|due| due <= Cents::ZERO);
    if rules.require_closed_invoice && !is_settled {
        return Err(ValidationFailure::InvoiceNotClosed);
    }
    if rules.require_full_payment && totals.grand_total > Cents::ZERO && totals.paid < totals.grand_total {
        return Err(ValidationFailure::PaymentInsufficient);
    }
    if invoice.lines.is_empty() {
        return Err(ValidationFailure::NoLineItems);
    }
    Ok(ValidatedEvent {
        facts: event.facts.clone(),
        date: day,
        lines: invoice.lines.clone(),
        totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tripleseat::event::wire::WireEvent;
    use serde_json::{json, Value};

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

    /// The pipeline's reading and rules: the typed event, then `validate`.
    fn validated(event: &Value, rules: &Rules) -> Result<ValidatedEvent, ValidationFailure> {
        let read = Event::try_from(WireEvent::read(event).unwrap()).map_err(|r| refuse_unreadable(r, rules))?;
        validate(&read, date(), rules)
    }

    fn check(event: &Value) -> Result<InvoiceTotals, ValidationFailure> {
        validated(event, &rules()).map(|v| v.totals)
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
        let validated = validated(&event, &relaxed).unwrap();
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

    #[test]
    fn an_unreadable_line_is_refused_unless_the_status_is_refused_first() {
        let mut event = fixture();
        invoice_mut(&mut event)["line_items"][0]["price"] = json!(null);
        assert!(matches!(check(&event), Err(ValidationFailure::UnreadableLineItem(_))));
        event["status"] = json!("TENTATIVE");
        assert_eq!(check(&event), Err(ValidationFailure::StatusNotInjectable));
    }

    #[test]
    fn amounts_past_the_bound_are_refused_never_wrapped() {
        let cases: [fn(&mut Value); 4] = [
            |e| invoice_mut(e)["financials"]["grand_total"] = json!("99999999999.00"),
            |e| invoice_mut(e)["payment_set"]["payments"][0]["amount"] = json!("99999999999.00"),
            |e| invoice_mut(e)["billing_totals"][0]["total_price"] = json!("-99999999999.00"),
            |e| {
                for line in invoice_mut(e)["line_items"].as_array_mut().unwrap() {
                    line["quantity"] = json!(100_000);
                    line["price"] = json!("30000.00");
                }
            },
        ];
        for edit in cases {
            let mut event = fixture();
            edit(&mut event);
            match check(&event) {
                Err(ValidationFailure::UnreadableLineItem(line)) => {
                    assert_eq!(line.line, "the invoice's amounts", "{line}")
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
