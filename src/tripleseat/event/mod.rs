//! A TripleSeat event in the domain's terms: who booked it, and its invoice (the
//! document whose title or a view name says "invoice", else the one document with
//! line items), with line items, totals and payments in exact cents.
//!
//! `wire` is what TripleSeat sends, read by serde; `Event::try_from` turns it into
//! this, refusing an event with a line it cannot read: a line is never dropped.

pub mod date;
pub mod lenient;
pub mod wire;

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::money::Cents;
use date::DateProblem;
use lenient::Amount;
use wire::WireEvent;

/// An event as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub facts: EventFacts,
    /// `None` when no document is the invoice.
    pub invoice: Option<Invoice>,
}

/// The event's identity and customer, for the order and the emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub id: String,
    pub name: String,
    /// Upper-cased, as the rules compare it.
    pub status: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub grand_total: Option<Cents>,
    pub amount_due: Option<Cents>,
}

/// The invoice, every line read and every amount within `Cents::MAX_INVOICE_AMOUNT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub lines: Vec<LineItem>,
    pub totals: InvoiceTotals,
    /// What the invoice (or the event) says is still due, when it says.
    pub amount_due: Option<Cents>,
    pub payments: Vec<Payment>,
}

/// One invoice line as TripleSeat bills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// TripleSeat's line id: what a resumed order finds its items by.
    pub id: String,
    pub name: String,
    /// Whole units, 1 to `MAX_QUANTITY`.
    pub quantity: i64,
    pub unit_price: Cents,
    /// `quantity × unit_price`, checked when the line was read.
    pub total: Cents,
}

impl LineItem {
    pub fn total(&self) -> Cents {
        self.total
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

/// A payment, and what it contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub amount: Cents,
    pub refunded: Option<Cents>,
    pub state: PaymentState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    Paid,
    /// Fully refunded: only what was not given back counts, and nothing when unknown.
    Refunded,
    NotPaid,
}

impl Payment {
    /// Its amount less refunds when it was paid, else nothing.
    pub fn net(&self) -> Cents {
        match self.state {
            PaymentState::Paid => self.amount - self.refunded.unwrap_or(Cents::ZERO).min(self.amount),
            PaymentState::Refunded => self
                .refunded
                .map_or(Cents::ZERO, |r| (self.amount - r).max(Cents::ZERO)),
            PaymentState::NotPaid => Cents::ZERO,
        }
    }

    fn of(payment: &wire::Payment) -> Payment {
        let state = payment.state.0.as_str().map(|s| s.trim().to_ascii_lowercase());
        let state = match state.as_deref() {
            Some("paid" | "completed" | "complete" | "succeeded" | "captured" | "settled" | "partially_refunded") => {
                PaymentState::Paid
            }
            Some("refunded") => PaymentState::Refunded,
            Some(_) => PaymentState::NotPaid,
            None if payment.paid_at.0 && !payment.unpaid_at.0 => PaymentState::Paid,
            None => PaymentState::NotPaid,
        };
        Payment {
            amount: payment.amount.cents().unwrap_or(Cents::ZERO),
            refunded: payment.amount_refunded.cents(),
            state,
        }
    }
}

/// The most units one line may order.
pub const MAX_QUANTITY: i64 = 100_000;

/// A line item that cannot be read: the event is refused rather than ordered without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableLine {
    /// Which line, in words: its position, id and name as far as they could be read.
    pub line: String,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for UnreadableLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.line, self.problem)
    }
}

/// Why an event could not become an `Event`, with its status: the rules refuse an
/// event that is not to be injected for that first, whatever its invoice holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub status: Option<String>,
    pub line: UnreadableLine,
}

impl TryFrom<WireEvent> for Event {
    type Error = Unreadable;

    /// Refuses an event without an id (the pipeline gives it the one it was asked
    /// for) or with an invoice line it cannot read.
    fn try_from(wire: WireEvent) -> Result<Event, Unreadable> {
        if wire.id.get().is_none() {
            return Err(Unreadable {
                status: wire.status.0,
                line: UnreadableLine {
                    line: "the event".into(),
                    problem: "it has no id".into(),
                },
            });
        }
        let facts = EventFacts::of(&wire);
        let invoice = wire
            .invoice()
            .map(|document| read_invoice(document, &facts))
            .transpose();
        match invoice {
            Ok(invoice) => Ok(Event { facts, invoice }),
            Err(line) => Err(Unreadable {
                status: facts.status,
                line,
            }),
        }
    }
}

impl Event {
    /// Reads an event object straight from its JSON. (The pipeline reads it in two
    /// steps, `WireEvent` then `Event`, with the time gate between.)
    pub fn from_json(json: &serde_json::Value) -> Result<Event, Unreadable> {
        let wire = WireEvent::read(json).ok_or_else(|| Unreadable {
            status: None,
            line: UnreadableLine {
                line: "the event".into(),
                problem: "it is not a JSON object".into(),
            },
        })?;
        Event::try_from(wire)
    }
}

impl WireEvent {
    /// The event's date from `event_date` or `event_date_iso8601`, whichever is present first.
    pub fn date(&self) -> Result<NaiveDate, DateProblem> {
        date::event_date([&self.event_date.0, &self.event_date_iso8601.0])
    }
}

impl EventFacts {
    pub fn of(event: &WireEvent) -> EventFacts {
        let contact = event.contact.get();
        let customer_name = contact
            .map(|c| {
                [c.first_name.get(), c.last_name.get()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|n| !n.is_empty())
            .or_else(|| event.account.get().and_then(|a| a.name.0.clone()));
        let customer_phone = contact
            .and_then(|c| c.phone_numbers.iter().next())
            .and_then(|p| p.number.0.clone());
        let id = event.id.0.clone().unwrap_or_default();
        EventFacts {
            name: event.name.0.clone().unwrap_or_else(|| format!("Event {id}")),
            id,
            status: event.status.get().map(str::to_ascii_uppercase),
            customer_name,
            customer_phone,
            grand_total: event.grand_total.cents(),
            amount_due: event.amount_due.cents(),
        }
    }
}

fn read_invoice(document: &wire::Document, facts: &EventFacts) -> Result<Invoice, UnreadableLine> {
    let lines = document
        .line_items
        .iter()
        .enumerate()
        .map(|(index, item)| read_line(index, item))
        .collect::<Result<Vec<_>, _>>()?;
    refuse_repeated_ids(&lines)?;
    let billing: Vec<BillingTotal> = document.billing_totals.iter().filter_map(BillingTotal::of).collect();
    let financials = document.financials.get();
    let payment_set = document.payment_set.get();
    let financial = |read: fn(&wire::Financials) -> Amount| financials.and_then(|f| read(f).cents());
    let amount_due = financial(|f| f.amount_due)
        .or_else(|| payment_set.and_then(|p| p.amount_due.cents()))
        .or_else(|| payment_set.and_then(|p| p.remaining_payment_amount.cents()));
    let payments: Vec<Payment> = payment_set
        .map(|p| p.payments.iter().map(Payment::of).collect())
        .unwrap_or_default();
    let stated = Stated {
        grand_total: financial(|f| f.grand_total).or(facts.grand_total),
        discounts_total: financial(|f| f.discounts_total),
        amount_due: amount_due.or(facts.amount_due),
    };
    let totals = totals(&lines, &billing, &payments, stated)?;
    Ok(Invoice {
        lines,
        totals,
        amount_due: stated.amount_due,
        payments,
    })
}

/// What the invoice states outright, where the lines and billing totals are summed.
#[derive(Debug, Clone, Copy)]
struct Stated {
    grand_total: Option<Cents>,
    discounts_total: Option<Cents>,
    amount_due: Option<Cents>,
}

/// A billing total: tax, gratuity, a fee, or (negative) a discount.
struct BillingTotal {
    description: String,
    amount: Cents,
}

impl BillingTotal {
    fn of(total: &wire::BillingTotal) -> Option<BillingTotal> {
        Some(BillingTotal {
            description: total.description.get().or(total.name.get()).unwrap_or("").to_string(),
            amount: total.total_price.cents().or(total.total.cents())?,
        })
    }

    fn is_tax(&self) -> bool {
        self.description.to_ascii_lowercase().contains("tax")
    }
}

/// The invoice's totals, each sum checked: an amount or a sum past
/// `Cents::MAX_INVOICE_AMOUNT` refuses the event, so nothing later can overflow.
fn totals(
    lines: &[LineItem],
    billing: &[BillingTotal],
    payments: &[Payment],
    stated: Stated,
) -> Result<InvoiceTotals, UnreadableLine> {
    let stated_amounts = [stated.grand_total, stated.discounts_total, stated.amount_due];
    let every_amount = stated_amounts
        .into_iter()
        .flatten()
        .chain(billing.iter().map(|t| t.amount))
        .chain(payments.iter().flat_map(|p| [Some(p.amount), p.refunded]).flatten());
    let within = |amount: Cents| amount.is_within_invoice_bound();
    let sum = |amounts: &mut dyn Iterator<Item = Cents>| {
        Cents::checked_sum(amounts).filter(|s| within(*s)).ok_or_else(too_large)
    };
    if !every_amount.into_iter().all(within) {
        return Err(too_large());
    }
    let subtotal = sum(&mut lines.iter().map(LineItem::total))?;
    let discount = match stated.discounts_total {
        Some(total) => total.abs(),
        None => sum(&mut billing
            .iter()
            .filter(|t| t.amount < Cents::ZERO)
            .map(|t| t.amount.abs()))?,
    };
    let positive = || billing.iter().filter(|t| t.amount > Cents::ZERO);
    let tax = sum(&mut positive().filter(|t| t.is_tax()).map(|t| t.amount))?;
    let fees = sum(&mut positive().map(|t| t.amount))?;
    let paid = sum(&mut payments.iter().map(Payment::net))?;
    Ok(InvoiceTotals {
        subtotal,
        discount,
        tax,
        grand_total: stated.grand_total.unwrap_or(subtotal - discount + fees),
        paid,
    })
}

fn too_large() -> UnreadableLine {
    UnreadableLine {
        line: "the invoice's amounts".into(),
        problem: format!("they reach more than {} and cannot be real", Cents::MAX_INVOICE_AMOUNT),
    }
}

/// A line with an id, a name, a whole quantity and a unit price, whose total fits.
/// Anything less is refused with what is wrong: a line is never dropped, and never
/// guessed (a fractional quantity, say, is not turned into one unit).
fn read_line(index: usize, item: &wire::LineItem) -> Result<LineItem, UnreadableLine> {
    let name = [&item.display_name, &item.name, &item.description]
        .into_iter()
        .find_map(|text| text.get())
        .unwrap_or("(unnamed item)")
        .to_string();
    let refuse = |problem: &str| UnreadableLine {
        line: match item.id.get() {
            Some(id) => format!("line {} (id {id}, \u{201c}{name}\u{201d})", index + 1),
            None => format!("line {} (\u{201c}{name}\u{201d})", index + 1),
        },
        problem: problem.to_string(),
    };
    let id = item.id.get().ok_or_else(|| refuse("it has no id"))?.to_string();
    let quantity = read_quantity(item.quantity).map_err(|problem| refuse(&problem))?;
    let unit_price = match item.price {
        Amount::Read(price) => price,
        Amount::Flag | Amount::NotAnAmount => return Err(refuse("its price is not an amount")),
        // Without a unit price, the line's total is the price of its one unit.
        Amount::Absent => item
            .total_price
            .cents()
            .filter(|_| quantity == 1)
            .ok_or_else(|| refuse("it has no price"))?,
    };
    if unit_price < Cents::ZERO {
        return Err(refuse("its price is negative"));
    }
    let total = unit_price
        .checked_times(quantity)
        .filter(|t| t.is_within_invoice_bound())
        .ok_or_else(|| refuse("its price times its quantity is too large to be real"))?;
    Ok(LineItem {
        id,
        name,
        quantity,
        unit_price,
        total,
    })
}

/// A resumed order finds each written line by its id, so two lines may not share one.
fn refuse_repeated_ids(lines: &[LineItem]) -> Result<(), UnreadableLine> {
    let mut seen = HashSet::new();
    match lines
        .iter()
        .enumerate()
        .find(|(_, line)| !seen.insert(line.id.as_str()))
    {
        Some((index, line)) => Err(UnreadableLine {
            line: format!("line {} (id {}, \u{201c}{}\u{201d})", index + 1, line.id, line.name),
            problem: "another line has the same id".into(),
        }),
        None => Ok(()),
    }
}

/// A whole number of units from 1 to `MAX_QUANTITY`, given as a number or as text.
fn read_quantity(quantity: Amount) -> Result<i64, String> {
    let hundredths = match quantity {
        Amount::Absent => return Err("it has no quantity".into()),
        Amount::Flag => return Err("its quantity is true/false, not a number".into()),
        Amount::NotAnAmount => return Err("its quantity is not a number".into()),
        Amount::Read(hundredths) => hundredths,
    };
    if hundredths.0 % 100 != 0 {
        return Err(format!("its quantity {hundredths} is not a whole number of units"));
    }
    match hundredths.0 / 100 {
        q if q <= 0 => Err(format!("its quantity is {q}")),
        q if q > MAX_QUANTITY => Err(format!("its quantity {q} is more than {MAX_QUANTITY}")),
        q => Ok(q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{json, Value};

    fn fixture() -> Value {
        serde_json::from_str::<Value>(include_str!("../../../tests/fixtures/event_full.json")).unwrap()["event"].clone()
    }

    /// The event of `json`, with an id when it has none (as the pipeline gives it).
    fn event(json: &Value) -> Result<Event, UnreadableLine> {
        let mut json = json.clone();
        if json.get("id").is_none() {
            json["id"] = json!(1);
        }
        Event::from_json(&json).map_err(|refused| refused.line)
    }

    /// The invoice of `json`; an error when one of its lines cannot be read.
    fn find_invoice(json: &Value) -> Result<Option<Invoice>, UnreadableLine> {
        event(json).map(|event| event.invoice)
    }

    fn line(json: &Value) -> wire::LineItem {
        wire::LineItem::deserialize(json).unwrap()
    }

    fn net_paid(json: &Value) -> Cents {
        Payment::of(&wire::Payment::deserialize(json).unwrap()).net()
    }

    #[test]
    fn the_fixture_invoice_reads_to_the_cent() {
        let invoice = find_invoice(&fixture()).unwrap().expect("the fixture has an invoice");
        assert_eq!(invoice.lines.len(), 4);
        assert_eq!(
            invoice.lines[0],
            LineItem {
                id: "8800101".into(),
                name: "Glazed Classic".into(),
                quantity: 24,
                unit_price: Cents(2_25),
                total: Cents(54_00),
            }
        );
        assert_eq!(
            invoice.totals,
            InvoiceTotals {
                subtotal: Cents(153_00),
                discount: Cents(15_30),
                tax: Cents::ZERO,
                grand_total: Cents(137_70),
                paid: Cents(137_70),
            }
        );
        assert_eq!(invoice.amount_due, Some(Cents::ZERO));
        assert_eq!(invoice.payments.len(), 2);
    }

    #[test]
    fn the_invoice_is_found_by_view_name_or_as_the_only_document_with_items() {
        let by_view = json!({"documents": [
            {"title": "Order", "views": [{"name": "Invoice"}], "line_items": [{"id": 1, "display_name": "A", "quantity": 1, "price": 1}]}
        ]});
        let found = |event: &Value| find_invoice(event).unwrap();
        assert_eq!(found(&by_view).unwrap().lines.len(), 1);
        let only_items = json!({"documents": [
            {"title": "BEO", "line_items": []},
            {"title": "Proposal", "line_items": [{"id": "7", "display_name": "A", "quantity": "2", "price": "1.50"}]}
        ]});
        assert_eq!(found(&only_items).unwrap().lines[0].total(), Cents(3_00));
        let two_with_items = json!({"documents": [
            {"title": "Proposal A", "line_items": [{"id": 1, "display_name": "A", "quantity": 1, "price": 1}]},
            {"title": "Proposal B", "line_items": [{"id": 2, "display_name": "B", "quantity": 1, "price": 1}]}
        ]});
        assert!(found(&two_with_items).is_none());
        let deleted = json!({"documents": [{"title": "Invoice", "deleted_at": "01/01/2026", "line_items": []}]});
        assert!(found(&deleted).is_none());
        assert!(found(&json!({"documents": []})).is_none());
        assert!(found(&json!({})).is_none());
    }

    #[test]
    fn payments_count_only_when_paid_and_less_refunds() {
        let cases = [
            (json!({"amount": "50.00", "state": "paid"}), 50_00),
            (
                json!({"amount": 50, "state": "PAID", "amount_refunded": "10.00"}),
                40_00,
            ),
            (
                json!({"amount": "50.00", "state": "refunded", "amount_refunded": "50.00"}),
                0,
            ),
            (json!({"amount": "50.00", "state": "refunded"}), 0),
            (json!({"amount": "50.00", "state": "pending"}), 0),
            (json!({"amount": "50.00", "state": "failed"}), 0),
            (json!({"amount": "50.00", "paid_at": "05/14/2026 04:50 PM"}), 50_00),
            (json!({"amount": "50.00", "paid_at": "x", "unpaid_at": "y"}), 0),
            (json!({"amount": "50.00"}), 0),
        ];
        for (payment, expected) in cases {
            assert_eq!(net_paid(&payment), Cents(expected), "{payment}");
        }
    }

    #[test]
    fn lines_read_quantities_and_prices_from_strings_or_numbers() {
        let cases = [
            (
                json!({"id": 1, "display_name": "A", "quantity": 24, "price": "2.25"}),
                ("A", 24, 2_25),
            ),
            (
                json!({"id": "2", "display_name": "A", "quantity": "12.0", "price": 2.75}),
                ("A", 12, 2_75),
            ),
            (
                json!({"id": 3, "name": " B ", "quantity": 1, "total_price": "4.00"}),
                ("B", 1, 4_00),
            ),
            (
                json!({"id": 4, "display_name": "Free", "quantity": 3, "price": "0"}),
                ("Free", 3, 0),
            ),
        ];
        for (item, (name, quantity, price)) in cases {
            let line = read_line(0, &line(&item)).unwrap();
            assert_eq!(
                (line.name.as_str(), line.quantity, line.unit_price.0),
                (name, quantity, price),
                "{item}"
            );
            assert_eq!(line.total, Cents(price * quantity));
        }
    }

    #[test]
    fn a_line_that_cannot_be_read_is_refused_saying_which_and_why() {
        let refuse = |fields: Value| {
            let mut item = json!({"id": 8800102, "display_name": "Maple Bar", "quantity": 12, "price": "2.75"});
            for (key, value) in fields.as_object().unwrap() {
                item[key] = value.clone();
            }
            read_line(1, &line(&item)).map(|l| l.quantity).unwrap_err()
        };
        let cases = [
            (json!({"quantity": null}), "it has no quantity"),
            (json!({"quantity": 0}), "its quantity is 0"),
            (json!({"quantity": -24}), "its quantity is -24"),
            (json!({"quantity": true}), "its quantity is true/false, not a number"),
            (json!({"quantity": "a dozen"}), "its quantity is not a number"),
            (
                json!({"quantity": 1.5}),
                "its quantity 1.50 is not a whole number of units",
            ),
            (json!({"quantity": i64::MAX}), "is not a number"),
            (json!({"quantity": 1_000_001}), "is more than 100000"),
            (json!({"price": null}), "it has no price"),
            (json!({"price": "n/a"}), "its price is not an amount"),
            (json!({"price": "-2.75"}), "its price is negative"),
            (
                json!({"quantity": 100_000, "price": "99999999999.00"}),
                "too large to be real",
            ),
            (json!({"id": null}), "it has no id"),
        ];
        for (fields, problem) in cases {
            let refused = refuse(fields.clone());
            assert!(refused.problem.contains(problem), "{fields}: {refused}");
            assert!(refused.line.starts_with("line 2"), "{refused}");
            assert!(refused.line.contains("Maple Bar"), "{refused}");
        }
        let mut repeated = fixture();
        repeated["documents"][1]["line_items"][3]["id"] = json!(8800101);
        assert!(find_invoice(&repeated)
            .unwrap_err()
            .to_string()
            .contains("line 4 (id 8800101, \u{201c}Coffee Carafe\u{201d}): another line has the same id"));
        let mut event = fixture();
        event["documents"][1]["line_items"][2]["quantity"] = json!(null);
        let refused = find_invoice(&event).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "line 3 (id 8800103, \u{201c}Chocolate Sprinkle Ring\u{201d}): it has no quantity"
        );
    }

    #[test]
    fn a_line_of_the_wrong_shape_is_refused_not_dropped() {
        let cases = [json!("Glazed Classic"), json!(7), json!(null), json!([1, 2])];
        for line in cases {
            let event = json!({"documents": [{"title": "Invoice", "line_items": [
                {"id": 1, "display_name": "A", "quantity": 1, "price": 1}, line.clone()
            ]}]});
            let refused = find_invoice(&event).unwrap_err();
            assert_eq!(
                refused.to_string(),
                "line 2 (\u{201c}(unnamed item)\u{201d}): it has no id",
                "{line}"
            );
        }
        let not_a_list = json!({"documents": [{"title": "Invoice", "line_items": {"id": 1}}]});
        assert!(find_invoice(&not_a_list).unwrap().unwrap().lines.is_empty());
    }

    #[test]
    fn numbers_keep_their_digits_and_huge_ones_never_fail_the_event() {
        let text = r#"{"id": 18446744073709551616, "contact": 18446744073709551617,
            "documents": [{"title": "Invoice", "financials": 123456789012345678901234567890,
              "line_items": [{"id": 1, "display_name": "A", "quantity": 1, "price": 0.000001, "total_price": 1e-7},
                             {"id": 2, "display_name": "B", "quantity": 2.00, "price": 2.675}, 99999999999999999999]}]}"#;
        let refused = event(&serde_json::from_str(text).unwrap()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "line 3 (\u{201c}(unnamed item)\u{201d}): it has no id"
        );
        let mut json: Value = serde_json::from_str(text).unwrap();
        json["documents"][0]["line_items"].as_array_mut().unwrap().pop();
        let invoice = event(&json).unwrap().invoice.unwrap();
        let prices: Vec<Cents> = invoice.lines.iter().map(|l| l.unit_price).collect();
        assert_eq!(
            prices,
            [Cents(0), Cents(2_68)],
            "0.000001 is read as written, not as 1e-6"
        );
        assert_eq!(event(&json).unwrap().facts.id, "18446744073709551616");
    }

    #[test]
    fn a_blank_payment_state_is_not_paid_and_a_null_description_falls_back_to_the_name() {
        let paid_at = "05/14/2026 04:50 PM";
        assert_eq!(
            net_paid(&json!({"amount": "50.00", "state": " ", "paid_at": paid_at})),
            Cents::ZERO
        );
        assert_eq!(
            net_paid(&json!({"amount": "50.00", "state": null, "paid_at": paid_at})),
            Cents(50_00)
        );
        let taxed = json!({"documents": [{"title": "Invoice",
            "line_items": [{"id": 1, "display_name": "A", "quantity": 1, "price": "10.00"}],
            "billing_totals": [{"description": null, "name": "Sales Tax", "total_price": "0.80"}]}]});
        assert_eq!(find_invoice(&taxed).unwrap().unwrap().totals.tax, Cents(80));
        // A blank price is no price: the line's total stands for its one unit.
        let blank_price = json!({"documents": [{"title": "Invoice",
            "line_items": [{"id": 1, "display_name": "A", "quantity": 1, "price": "", "total_price": "4.00"}]}]});
        assert_eq!(
            find_invoice(&blank_price).unwrap().unwrap().lines[0].unit_price,
            Cents(4_00)
        );
    }

    #[test]
    fn an_event_without_an_id_is_refused() {
        let refused = Event::from_json(&json!({"status": "DEFINITE"})).unwrap_err();
        assert_eq!(refused.line.to_string(), "the event: it has no id");
        assert_eq!(refused.status.as_deref(), Some("DEFINITE"));
    }

    #[test]
    fn the_customer_comes_from_the_contact() {
        let facts = EventFacts::of(&WireEvent::read(&fixture()).unwrap());
        assert_eq!(facts.id, "61234567");
        assert_eq!(facts.name, "Harper Family Brunch");
        assert_eq!(facts.status.as_deref(), Some("DEFINITE"));
        assert_eq!(facts.customer_name.as_deref(), Some("Dana Whitfield"));
        assert_eq!(facts.customer_phone.as_deref(), Some("702-555-0147"));
        let account_only =
            EventFacts::of(&WireEvent::read(&json!({"id": 9, "account": {"name": "Harper Family"}})).unwrap());
        assert_eq!(account_only.customer_name.as_deref(), Some("Harper Family"));
        assert_eq!(account_only.name, "Event 9");
    }
}
