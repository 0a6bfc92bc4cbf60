//! What TripleSeat sends for an event, as serde reads it: every field optional
//! (`#[serde(default)]`), of the lenient types of `lenient`, so an event of an
//! unexpected shape is read as far as it goes and the domain says what is missing.

use serde::Deserialize;
use serde_json::Value;

use super::lenient::{Amount, Id, IsSet, Many, Obj, Raw, Text};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WireEvent {
    pub id: Id,
    pub name: Text,
    pub status: Text,
    pub event_date: Raw,
    pub event_date_iso8601: Raw,
    pub contact: Obj<Contact>,
    pub account: Obj<Account>,
    pub grand_total: Amount,
    pub amount_due: Amount,
    pub documents: Many<Document>,
}

impl WireEvent {
    /// Reads an event object; `None` for anything that is not one.
    pub fn read(event: &Value) -> Option<WireEvent> {
        Obj::<WireEvent>::deserialize(event).ok().and_then(|obj| obj.0)
    }

    /// The invoice: the live document whose title or a view name says "invoice"
    /// (one with line items first), else the one live document with line items.
    pub fn invoice(&self) -> Option<&Document> {
        let live: Vec<&Document> = self.documents.iter().filter(|d| !d.deleted_at.0).collect();
        let titled: Vec<&Document> = live.iter().copied().filter(|d| d.is_titled_invoice()).collect();
        if let Some(chosen) = titled.iter().find(|d| !d.line_items.is_empty()).or(titled.first()) {
            return Some(chosen);
        }
        let mut with_items = live.into_iter().filter(|d| !d.line_items.is_empty());
        match (with_items.next(), with_items.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// Has a status, a date, and an invoice with line items and payment data: then
    /// the payload is the whole event and TripleSeat need not be read.
    pub fn is_complete(&self) -> bool {
        let has_date = [&self.event_date, &self.event_date_iso8601]
            .iter()
            .any(|raw| raw.0.as_str().is_some_and(|s| !s.trim().is_empty()));
        let has_payments = self.documents.iter().any(|d| d.payment_set.get().is_some());
        self.status.get().is_some()
            && has_date
            && has_payments
            && self.invoice().is_some_and(|invoice| !invoice.line_items.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub first_name: Text,
    pub last_name: Text,
    pub phone_numbers: Many<PhoneNumber>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhoneNumber {
    pub number: Text,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Account {
    pub name: Text,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Document {
    pub title: Text,
    pub views: Many<View>,
    pub deleted_at: IsSet,
    pub line_items: Many<LineItem>,
    pub billing_totals: Many<BillingTotal>,
    pub financials: Obj<Financials>,
    pub payment_set: Obj<PaymentSet>,
}

impl Document {
    fn is_titled_invoice(&self) -> bool {
        let says_invoice = |text: &Text| text.get().is_some_and(|s| s.to_ascii_lowercase().contains("invoice"));
        says_invoice(&self.title) || self.views.iter().any(|view| says_invoice(&view.name))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct View {
    pub name: Text,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LineItem {
    pub id: Id,
    pub display_name: Text,
    pub name: Text,
    pub description: Text,
    pub quantity: Amount,
    pub price: Amount,
    pub total_price: Amount,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BillingTotal {
    pub description: Text,
    pub name: Text,
    pub total_price: Amount,
    pub total: Amount,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Financials {
    pub grand_total: Amount,
    pub discounts_total: Amount,
    pub amount_due: Amount,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PaymentSet {
    pub amount_due: Amount,
    pub remaining_payment_amount: Amount,
    pub payments: Many<Payment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Payment {
    pub amount: Amount,
    pub amount_refunded: Amount,
    /// Kept as sent: a blank state is not an absent one.
    pub state: Raw,
    pub paid_at: IsSet,
    pub unpaid_at: IsSet,
}
