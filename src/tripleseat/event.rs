//! Reading a TripleSeat event: who booked it, and its invoice (the document whose
//! title or a view name says "invoice", else the one document with line items),
//! with line items, billing totals, financials and payments in exact cents.

use serde_json::Value;

use super::id_string;
use crate::money::Cents;

/// One invoice line as TripleSeat bills it: every field read, or the event refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// TripleSeat's line id: what a resumed order finds its items by.
    pub id: String,
    pub name: String,
    /// Whole units, 1 to `MAX_QUANTITY`.
    pub quantity: i64,
    pub unit_price: Cents,
    /// `quantity × unit_price`, checked when the line was read.
    pub total: Cents,
}

impl InvoiceLine {
    pub fn total(&self) -> Cents {
        self.total
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

/// A billing total: tax, gratuity, a fee, or (negative) a discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingTotal {
    pub description: String,
    pub amount: Cents,
}

impl BillingTotal {
    pub fn is_tax(&self) -> bool {
        self.description.to_ascii_lowercase().contains("tax")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invoice {
    pub lines: Vec<InvoiceLine>,
    pub billing_totals: Vec<BillingTotal>,
    pub grand_total: Option<Cents>,
    pub discounts_total: Option<Cents>,
    pub amount_due: Option<Cents>,
    /// Paid payments, less their refunds.
    pub paid: Cents,
}

/// The event's identity and customer, for the order and the emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub id: String,
    pub name: String,
    pub status: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub grand_total: Option<Cents>,
    pub amount_due: Option<Cents>,
}

impl EventFacts {
    pub fn read(event: &Value, event_id: &str) -> EventFacts {
        let contact = event.get("contact");
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let customer_name = contact
            .map(|c| {
                [text(c.get("first_name")), text(c.get("last_name"))]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|n| !n.is_empty())
            .or_else(|| text(event.get("account").and_then(|a| a.get("name"))));
        let customer_phone = contact
            .and_then(|c| c.get("phone_numbers")?.as_array()?.first()?.get("number"))
            .and_then(|n| text(Some(n)));
        EventFacts {
            id: id_string(event.get("id")).unwrap_or_else(|| event_id.to_string()),
            name: text(event.get("name")).unwrap_or_else(|| format!("Event {event_id}")),
            status: text(event.get("status")).map(|s| s.to_ascii_uppercase()),
            customer_name,
            customer_phone,
            grand_total: event.get("grand_total").and_then(Cents::from_json),
            amount_due: event.get("amount_due").and_then(Cents::from_json),
        }
    }
}

/// The event's invoice, when it has one; an error when one of its lines cannot be read.
pub fn find_invoice(event: &Value) -> Result<Option<Invoice>, UnreadableLine> {
    match choose_invoice(event) {
        Some(document) => read_invoice(document).map(Some),
        None => Ok(None),
    }
}

fn choose_invoice(event: &Value) -> Option<&Value> {
    let documents: Vec<&Value> = event
        .get("documents")?
        .as_array()?
        .iter()
        .filter(|d| d.is_object() && d.get("deleted_at").is_none_or(Value::is_null))
        .collect();
    let titled: Vec<&&Value> = documents.iter().filter(|d| is_titled_invoice(d)).collect();
    let chosen = titled
        .iter()
        .find(|d| has_line_items(d))
        .or_else(|| titled.first())
        .map(|d| **d)
        .or_else(|| {
            let with_items: Vec<&&Value> = documents.iter().filter(|d| has_line_items(d)).collect();
            (with_items.len() == 1).then(|| *with_items[0])
        })?;
    Some(chosen)
}

fn is_titled_invoice(document: &Value) -> bool {
    let says_invoice = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.to_ascii_lowercase().contains("invoice"))
    };
    says_invoice(document.get("title"))
        || document
            .get("views")
            .and_then(Value::as_array)
            .is_some_and(|views| views.iter().any(|v| says_invoice(v.get("name"))))
}

fn has_line_items(document: &Value) -> bool {
    document
        .get("line_items")
        .and_then(Value::as_array)
        .is_some_and(|items| !items.is_empty())
}

fn read_invoice(document: &Value) -> Result<Invoice, UnreadableLine> {
    let money = |v: Option<&Value>| v.and_then(Cents::from_json);
    let financials = document.get("financials");
    let payment_set = document.get("payment_set");
    let lines = document
        .get("line_items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .map(|(index, item)| read_line(index, item))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    refuse_repeated_ids(&lines)?;
    let billing_totals = document
        .get("billing_totals")
        .and_then(Value::as_array)
        .map(|totals| {
            totals
                .iter()
                .filter_map(|t| {
                    Some(BillingTotal {
                        description: t
                            .get("description")
                            .or_else(|| t.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        amount: money(t.get("total_price")).or_else(|| money(t.get("total")))?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let amount_due = financials
        .and_then(|f| money(f.get("amount_due")))
        .or_else(|| payment_set.and_then(|p| money(p.get("amount_due"))))
        .or_else(|| payment_set.and_then(|p| money(p.get("remaining_payment_amount"))));
    let paid = payment_set
        .and_then(|p| p.get("payments")?.as_array())
        .map(|payments| payments.iter().map(net_paid).sum())
        .unwrap_or(Cents::ZERO);
    Ok(Invoice {
        lines,
        billing_totals,
        grand_total: financials.and_then(|f| money(f.get("grand_total"))),
        discounts_total: financials.and_then(|f| money(f.get("discounts_total"))),
        amount_due,
        paid,
    })
}

/// A line with an id, a name, a whole quantity and a unit price, whose total fits.
/// Anything less is refused with what is wrong: a line is never dropped, and never
/// guessed (a fractional quantity, say, is not turned into one unit).
fn read_line(index: usize, item: &Value) -> Result<InvoiceLine, UnreadableLine> {
    let name = ["display_name", "name", "description"]
        .iter()
        .filter_map(|f| item.get(*f)?.as_str())
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("(unnamed item)")
        .to_string();
    let id = id_string(item.get("id"));
    let refuse = |problem: &str| UnreadableLine {
        line: match &id {
            Some(id) => format!("line {} (id {id}, \u{201c}{name}\u{201d})", index + 1),
            None => format!("line {} (\u{201c}{name}\u{201d})", index + 1),
        },
        problem: problem.to_string(),
    };
    let id = id.clone().ok_or_else(|| refuse("it has no id"))?;
    let quantity = read_quantity(item.get("quantity")).map_err(|problem| refuse(&problem))?;
    let line_total = item.get("total_price").and_then(Cents::from_json);
    let unit_price = match item.get("price").filter(|p| !p.is_null()) {
        Some(price) => Cents::from_json(price).ok_or_else(|| refuse("its price is not an amount"))?,
        // Without a unit price, the line's total is the price of its one unit.
        None => line_total
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
    Ok(InvoiceLine {
        id,
        name,
        quantity,
        unit_price,
        total,
    })
}

/// A resumed order finds each written line by its id, so two lines may not share one.
fn refuse_repeated_ids(lines: &[InvoiceLine]) -> Result<(), UnreadableLine> {
    let mut seen = std::collections::HashSet::new();
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
fn read_quantity(value: Option<&Value>) -> Result<i64, String> {
    let hundredths = match value {
        None | Some(Value::Null) => return Err("it has no quantity".into()),
        Some(Value::Bool(_)) => return Err("its quantity is true/false, not a number".into()),
        Some(value) => Cents::from_json(value).ok_or("its quantity is not a number")?,
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

/// What a payment contributes: its amount less refunds when it was paid, else nothing.
fn net_paid(payment: &Value) -> Cents {
    let state = payment
        .get("state")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase());
    let is_set = |field: &str| payment.get(field).is_some_and(|v| !v.is_null());
    let amount = payment.get("amount").and_then(Cents::from_json).unwrap_or(Cents::ZERO);
    let refunded = payment.get("amount_refunded").and_then(Cents::from_json);
    let counts = match state.as_deref() {
        Some("paid" | "completed" | "complete" | "succeeded" | "captured" | "settled" | "partially_refunded") => true,
        // Fully refunded: only what was not given back counts, and nothing when unknown.
        Some("refunded") => return refunded.map_or(Cents::ZERO, |r| (amount - r).max(Cents::ZERO)),
        Some(_) => false,
        None => is_set("paid_at") && !is_set("unpaid_at"),
    };
    if counts {
        amount - refunded.unwrap_or(Cents::ZERO).min(amount)
    } else {
        Cents::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture() -> Value {
        serde_json::from_str::<Value>(include_str!("../../tests/fixtures/event_full.json")).unwrap()["event"].clone()
    }

    #[test]
    fn the_fixture_invoice_reads_to_the_cent() {
        let invoice = find_invoice(&fixture()).unwrap().expect("the fixture has an invoice");
        assert_eq!(invoice.lines.len(), 4);
        assert_eq!(
            invoice.lines[0],
            InvoiceLine {
                id: "8800101".into(),
                name: "Glazed Classic".into(),
                quantity: 24,
                unit_price: Cents(2_25),
                total: Cents(54_00),
            }
        );
        assert_eq!(
            invoice.lines.iter().map(InvoiceLine::total).sum::<Cents>(),
            Cents(153_00)
        );
        assert_eq!(invoice.grand_total, Some(Cents(137_70)));
        assert_eq!(invoice.discounts_total, Some(Cents(15_30)));
        assert_eq!(invoice.amount_due, Some(Cents::ZERO));
        assert_eq!(invoice.paid, Cents(137_70));
        assert_eq!(invoice.billing_totals.len(), 2);
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
            let line = read_line(0, &item).unwrap();
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
        let line = |fields: Value| {
            let mut item = json!({"id": 8800102, "display_name": "Maple Bar", "quantity": 12, "price": "2.75"});
            for (key, value) in fields.as_object().unwrap() {
                item[key] = value.clone();
            }
            read_line(1, &item).map(|l| l.quantity).unwrap_err()
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
            let refused = line(fields.clone());
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
    fn the_customer_comes_from_the_contact() {
        let facts = EventFacts::read(&fixture(), "61234567");
        assert_eq!(facts.id, "61234567");
        assert_eq!(facts.name, "Harper Family Brunch");
        assert_eq!(facts.status.as_deref(), Some("DEFINITE"));
        assert_eq!(facts.customer_name.as_deref(), Some("Dana Whitfield"));
        assert_eq!(facts.customer_phone.as_deref(), Some("702-555-0147"));
        let account_only = EventFacts::read(&json!({"account": {"name": "Harper Family"}}), "9");
        assert_eq!(account_only.customer_name.as_deref(), Some("Harper Family"));
        assert_eq!(account_only.name, "Event 9");
    }
}
