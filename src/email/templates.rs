//! The success and failure messages, each with a plain-text and an HTML part.
//! Every value that came from TripleSeat is HTML-escaped in the HTML part.

use std::fmt::Write;

use super::Message;
use crate::locations::Location;
use crate::money::Cents;
use crate::pipeline::validation::ValidatedEvent;
use crate::revel::order_plan::PlannedOrder;

/// What a success email tells.
pub struct Injected<'a> {
    pub event: &'a ValidatedEvent,
    pub location: &'a Location,
    pub plan: &'a PlannedOrder,
    pub order_id: &'a str,
    pub correlation_id: &'a str,
    /// The write finished after the webhook's deadline (this long), so TripleSeat's
    /// delivery was answered `REVEL_WRITE_FAILED` although the order is complete.
    pub answered_before_the_end: Option<std::time::Duration>,
}

/// What a failure email tells.
pub struct Failed<'a> {
    pub reason: &'a str,
    pub explanation: &'a str,
    pub event_id: Option<&'a str>,
    pub event_name: Option<&'a str>,
    pub location: Option<&'a str>,
    pub correlation_id: &'a str,
    pub unmatched_items: &'a [String],
    pub partial_order_id: Option<&'a str>,
    /// Every order Revel holds for the event, when it holds more than one.
    pub duplicate_order_ids: &'a [String],
    /// What exactly is wrong, when the reason alone does not say (which invoice line
    /// cannot be read; why a partial order is left alone).
    pub detail: Option<&'a str>,
}

pub fn success(facts: &Injected<'_>) -> Message {
    let late_note = facts.answered_before_the_end.map(|deadline| {
        format!(
            "Note: the write took longer than the webhook's {}-second deadline, so TripleSeat's delivery was answered REVEL_WRITE_FAILED before it finished. The order above is complete; nothing needs doing.",
            deadline.as_secs()
        )
    });
    Message {
        subject: format!(
            "Triple Seat Event Injected — Event #{}",
            one_line(&facts.event.facts.id)
        ),
        text: success_text(facts, late_note.as_deref()),
        html: success_html(facts, late_note.as_deref()),
        correlation_id: facts.correlation_id.to_string(),
    }
}

/// The plan's money, in the order both parts list it.
fn amounts(plan: &PlannedOrder) -> [(&'static str, Cents); 6] {
    [
        ("Subtotal", plan.subtotal),
        ("Discount", plan.discount),
        ("Tax", plan.tax),
        ("Other charges", plan.surcharge),
        ("Total", plan.total),
        ("Payment", plan.payment),
    ]
}

fn success_text(facts: &Injected<'_>, late_note: Option<&str>) -> String {
    let event = facts.event;
    let mut text = format!(
        "Event #{id} was injected into Revel.\n\nEvent: {name}\nDate: {date}\nLocation: {location}\nRevel order: {order}\n\nItems:\n",
        id = event.facts.id,
        name = event.facts.name,
        date = event.date.format("%m/%d/%Y"),
        location = facts.location.name,
        order = facts.order_id,
    );
    for item in &facts.plan.items {
        let line_total = item.unit_price.times(item.quantity);
        let _ = writeln!(
            text,
            "  {} x {} @ {} = {line_total}",
            item.quantity, item.name, item.unit_price
        );
    }
    text.push('\n');
    for (label, amount) in amounts(facts.plan) {
        let _ = writeln!(text, "{label}: {amount}");
    }
    let _ = write!(text, "\nCorrelation id: {}\n", facts.correlation_id);
    if let Some(note) = late_note {
        let _ = write!(text, "\n{note}\n");
    }
    text
}

fn success_html(facts: &Injected<'_>, late_note: Option<&str>) -> String {
    let event = facts.event;
    let mut rows = String::new();
    for item in &facts.plan.items {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td style=\"text-align:right\">{}</td><td style=\"text-align:right\">{}</td><td style=\"text-align:right\">{}</td></tr>",
            escape(&item.name),
            item.quantity,
            item.unit_price,
            item.unit_price.times(item.quantity)
        );
    }
    let details: String = [
        row(
            "Event",
            &format!("#{} {}", escape(&event.facts.id), escape(&event.facts.name)),
        ),
        row("Date", &event.date.format("%m/%d/%Y").to_string()),
        row("Location", &escape(&facts.location.name)),
        row("Revel order", &escape(facts.order_id)),
    ]
    .concat();
    let totals: String = amounts(facts.plan)
        .iter()
        .map(|(label, amount)| row(label, &amount.to_string()))
        .collect();
    format!(
        "<h2>Triple Seat event injected into Revel</h2>\
         <table>{details}</table>\
         <h3>Items</h3>\
         <table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\
         <tr><th>Item</th><th>Qty</th><th>Unit price</th><th>Line total</th></tr>{rows}</table>\
         <table>{totals}</table>\
         {late}<p style=\"color:#666\">Correlation id: {correlation}</p>",
        late = late_note
            .map(|note| format!("<p>{}</p>", escape(note)))
            .unwrap_or_default(),
        correlation = escape(facts.correlation_id),
    )
}

/// One fact of a failure email: its line in the text, and its row in the HTML.
struct Detail {
    text: String,
    label: &'static str,
    value: String,
}

fn failure_details(facts: &Failed<'_>) -> Vec<Detail> {
    let detail = |text: String, label, value: &str| Detail {
        text,
        label,
        value: value.to_string(),
    };
    let mut details = Vec::new();
    if let Some(name) = facts.event_name {
        details.push(detail(format!("Event: {name}"), "Event", name));
    }
    if let Some(location) = facts.location {
        details.push(detail(format!("Location: {location}"), "Location", location));
    }
    if let Some(what) = facts.detail {
        details.push(detail(format!("Details: {what}"), "Details", what));
    }
    if let Some(order) = facts.partial_order_id {
        let text = format!("Partial Revel order: {order} (started but not complete)");
        details.push(detail(text, "Partial Revel order", order));
    }
    if !facts.duplicate_order_ids.is_empty() {
        let ids = facts.duplicate_order_ids.join(", ");
        let text =
            format!("Revel orders for this event: {ids} (more than one: void the extra ones, see docs/rollback.md)");
        details.push(detail(text, "Revel orders (duplicates)", &ids));
    }
    details
}

pub fn failure(facts: &Failed<'_>) -> Message {
    let event_label = facts
        .event_id
        .map_or_else(|| "unknown event".to_string(), |id| format!("Event #{id}"));
    let details = failure_details(facts);
    let mut text = format!(
        "{event_label} was not injected into Revel.\n\nReason: {reason} — {explanation}\n",
        reason = facts.reason,
        explanation = facts.explanation
    );
    let mut rows: String = details.iter().map(|d| row(d.label, &escape(&d.value))).collect();
    for detail in &details {
        let _ = writeln!(text, "{}", detail.text);
    }
    let mut unmatched_html = String::new();
    if !facts.unmatched_items.is_empty() {
        text.push_str("Items with no matching Revel product:\n");
        unmatched_html.push_str("<h3>Items with no matching Revel product</h3><ul>");
        for name in facts.unmatched_items {
            let _ = writeln!(text, "  - {name}");
            let _ = write!(unmatched_html, "<li>{}</li>", escape(name));
        }
        unmatched_html.push_str("</ul>");
    }
    let _ = write!(text, "\nCorrelation id: {}\n", facts.correlation_id);
    rows.push_str(&row("Correlation id", &escape(facts.correlation_id)));
    let html = format!(
        "<h2>Triple Seat event injection failed</h2><table>{}{}{rows}</table>{unmatched_html}",
        row("Event", &escape(&event_label)),
        row(
            "Reason",
            &format!("<code>{}</code> — {}", escape(facts.reason), escape(facts.explanation))
        ),
    );
    Message {
        subject: format!("FAILED: Triple Seat Event Injection — {}", one_line(&event_label)),
        text,
        html,
        correlation_id: facts.correlation_id.to_string(),
    }
}

/// One label/value row of a details table; `value` must already be HTML.
fn row(label: &str, value: &str) -> String {
    format!("<tr><th style=\"text-align:left\">{label}</th><td>{value}</td></tr>")
}

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Subjects must not carry line breaks.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn a_failure_lists_unmatched_items_escaped() {
        let unmatched = vec!["Fish & Chips <large>".to_string()];
        let message = failure(&Failed {
            reason: "ITEMS_UNMATCHED",
            explanation: "some line items match no Revel product",
            event_id: Some("61234567"),
            event_name: Some("<b>Party</b>"),
            location: Some("Summerlin"),
            correlation_id: "req-0123abcd",
            unmatched_items: &unmatched,
            partial_order_id: None,
            duplicate_order_ids: &[],
            detail: None,
        });
        assert_eq!(message.subject, "FAILED: Triple Seat Event Injection — Event #61234567");
        assert!(message.html.contains("Fish &amp; Chips &lt;large&gt;"));
        assert!(message.html.contains("&lt;b&gt;Party&lt;/b&gt;"));
        assert!(!message.html.contains("<b>Party"));
        assert!(message.text.contains("  - Fish & Chips <large>"));
        assert!(message.text.contains("req-0123abcd"));
    }
}
