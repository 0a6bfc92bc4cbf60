//! Properties of the parsers that take what strangers send — the delivery body, the
//! signature header, money, the event and its invoice — checked on generated input in
//! every `cargo test`.
//! The same properties are libFuzzer targets in `fuzz/` for long runs (`docs/fuzzing.md`).

use connector::money::Cents;
use connector::secret::Secret;
use connector::tripleseat::delivery::{Delivery, DeliveryError};
use connector::tripleseat::signature::{self, Form, SignatureError, Verifier};
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW: i64 = 1_779_000_000;

fn verifier(key: &Secret) -> Verifier<'_> {
    Verifier {
        key: Some(key),
        scheme: connector::tripleseat::signature::SignatureScheme::Auto,
        tolerance_secs: 300,
    }
}

/// A TripleSeat id as it may arrive: a number or a string of digits.
fn an_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1u64..u64::MAX / 2).prop_map(|n| json!(n)),
        "[1-9][0-9]{0,12}".prop_map(|s| json!(s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_are_a_delivery_or_a_clean_refusal(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let expected = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(_)) => None,
            Ok(_) => Some(DeliveryError::NotAnObject),
            Err(_) => Some(DeliveryError::InvalidJson),
        };
        match Delivery::parse(&body) {
            Ok(delivery) => {
                prop_assert_eq!(expected, None);
                // Reading every field never panics either.
                let trigger = delivery.trigger().unwrap_or_default();
                let _ = (delivery.event_id(), delivery.site_id(), delivery.key(&trigger));
            }
            Err(error) => prop_assert_eq!(Some(error), expected),
        }
    }

    #[test]
    fn an_event_delivery_yields_its_ids_and_a_stable_key(
        id in an_id(),
        site in an_id(),
        trigger in "[A-Z_]{1,20}",
        updated in "[ -~]{0,30}",
    ) {
        let body = json!({"webhook_trigger_type": trigger, "event": {"id": id, "site_id": site, "updated_at": updated}});
        let bytes = body.to_string().into_bytes();
        let delivery = Delivery::parse(&bytes).unwrap();
        let as_text = |v: &Value| v.as_str().map(String::from).unwrap_or_else(|| v.to_string());
        prop_assert_eq!(delivery.event_id(), Some(as_text(&id)));
        prop_assert_eq!(delivery.site_id(), Some(as_text(&site)));
        let again = Delivery::parse(&bytes).unwrap();
        prop_assert_eq!(delivery.key(&trigger), again.key(&trigger));
    }

    #[test]
    fn any_header_is_verified_or_refused_without_a_panic(header in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let key = Secret::new("fuzz-key");
        let verdict = verifier(&key).verify(Some(&header), &body, NOW);
        prop_assert!(verdict != Ok(()), "a random header never verifies: {header:?}");
        let report = signature::report(&key, Some(&header), &body, NOW);
        prop_assert_eq!(report.form, None);
    }

    #[test]
    fn every_form_we_sign_verifies_and_any_changed_byte_does_not(
        key in "[ -~]{1,64}",
        body in proptest::collection::vec(any::<u8>(), 1..300),
        skew in -300i64..=300,
        flip in any::<prop::sample::Index>(),
    ) {
        let key = Secret::new(key);
        let timestamped = signature::sign(&key, &body, NOW + skew);
        let plain = signature::sign_plain(&key, &body);
        for header in [&timestamped, &plain] {
            prop_assert_eq!(verifier(&key).verify(Some(header), &body, NOW), Ok(()));
        }
        prop_assert_eq!(signature::report(&key, Some(&timestamped), &body, NOW).form, Some(Form::Timestamped));
        prop_assert_eq!(signature::report(&key, Some(&plain), &body, NOW).form, Some(Form::PlainHex));
        let mut changed = body.clone();
        let at = flip.index(changed.len());
        changed[at] ^= 0x01;
        prop_assert_eq!(verifier(&key).verify(Some(&timestamped), &changed, NOW), Err(SignatureError::Mismatch));
        prop_assert_eq!(verifier(&key).verify(Some(&plain), &changed, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_reported_shape_never_holds_the_signature(key in "[a-z]{8,32}", body in proptest::collection::vec(any::<u8>(), 0..100)) {
        let key = Secret::new(key);
        let header = signature::sign(&key, &body, NOW);
        let mac = header.split("v1=").nth(1).unwrap();
        let shape = signature::report(&key, Some(&header), &body, NOW).shape;
        for window in mac.as_bytes().windows(6) {
            prop_assert!(!shape.contains(std::str::from_utf8(window).unwrap()), "{shape}");
        }
    }

    #[test]
    fn any_text_is_money_or_nothing(text in ".{0,40}") {
        if let Some(cents) = Cents::parse(&text) {
            // Whatever parsed prints as a plain decimal that parses back the same.
            prop_assert_eq!(Cents::parse(&cents.to_string()), Some(cents));
        }
    }

    #[test]
    fn printed_cents_parse_back_exactly(cents in -(i64::MAX / 100)..(i64::MAX / 100)) {
        let printed = Cents(cents).to_string();
        prop_assert_eq!(Cents::parse(&printed), Some(Cents(cents)));
        prop_assert_eq!(Cents::from_json(&json!(printed)), Some(Cents(cents)));
    }

    #[test]
    fn decimals_round_half_away_from_zero_to_the_cent(
        whole in 0u64..10_000_000_000,
        fraction in "[0-9]{0,8}",
        negative in any::<bool>(),
        grouped in any::<bool>(),
    ) {
        let mut text = if grouped { group_thousands(whole) } else { whole.to_string() };
        if !fraction.is_empty() {
            text = format!("{text}.{fraction}");
        }
        if negative {
            text = format!("-{text}");
        }
        // The exact value in cents, rounded half away from zero, in wide integers.
        let digits: Vec<i128> = fraction.bytes().map(|b| i128::from(b - b'0')).collect();
        let digit = |i: usize| digits.get(i).copied().unwrap_or(0);
        let mut expected = i128::from(whole) * 100 + digit(0) * 10 + digit(1);
        if digit(2) >= 5 {
            expected += 1;
        }
        if negative {
            expected = -expected;
        }
        prop_assert_eq!(Cents::parse(&text).map(|c| i128::from(c.0)), Some(expected), "{}", text);
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// An invoice the way TripleSeat sends it, with `lines` of (quantity, unit price in
/// cents), a discount, tax and fees, and paid in full.
fn invoice_event(lines: &[(i64, i64)], discount: i64, tax: i64, fees: i64) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (quantity, price))| {
            json!({"id": 9000 + i, "display_name": format!("Catering Item {i:03}"), "quantity": quantity,
                   "price": Cents(*price).to_string(), "total_price": Cents(price * quantity).to_string()})
        })
        .collect();
    let subtotal: i64 = lines.iter().map(|(q, p)| q * p).sum();
    let grand_total = subtotal - discount + tax + fees;
    json!({
        "id": 61234567, "status": "DEFINITE",
        "documents": [{
            "title": "Invoice", "line_items": items,
            "billing_totals": [
                {"description": "Sales Tax", "total_price": Cents(tax).to_string()},
                {"description": "Service Fee", "total_price": Cents(fees).to_string()},
            ],
            "financials": {"grand_total": Cents(grand_total).to_string(), "discounts_total": Cents(-discount).to_string(), "amount_due": "0.00"},
            "payment_set": {"payments": [{"amount": Cents(grand_total).to_string(), "state": "paid"}]},
        }]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_readable_invoice_plans_every_line_once_and_to_its_total(
        lines in proptest::collection::vec((1i64..500, 0i64..50_000), 1..40),
        discount_share in 0i64..50,
        tax in 0i64..100_000,
        fees in 0i64..100_000,
    ) {
        use connector::locations::Location;
        use connector::pipeline::validation::{validate, Rules};
        use connector::tripleseat::event::Event;
        use connector::revel::product::Product;
        use connector::revel::order_plan::{plan_order, Matching};

        let subtotal: i64 = lines.iter().map(|(q, p)| q * p).sum();
        let discount = subtotal * discount_share / 100;
        let event = invoice_event(&lines, discount, tax, fees);
        let rules = Rules { inject_statuses: vec!["DEFINITE".into()], require_closed_invoice: true, require_full_payment: true };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 16).unwrap();
        let event = Event::from_json(&event).expect("every line is readable");
        let validated = validate(&event, day, &rules).expect("a readable, paid invoice validates");
        let catalog: Vec<Product> = (0..lines.len())
            .map(|i| Product::new((500 + i).to_string(), format!("Catering Item {i:03}"), None))
            .collect();
        let location = Location { site_id: "15901".into(), name: "Summerlin".into(), revel_establishment: "4".into(), timezone: chrono_tz::America::Los_Angeles };
        let catalog = connector::revel::product_match::Catalog::new(catalog);
        let matching = Matching { catalog: Some(&catalog), threshold: 0.75, allow_partial: false };
        let plan = plan_order(&validated, &location, &matching).expect("every line matches its product");

        prop_assert_eq!(plan.total, validated.totals.grand_total);
        prop_assert_eq!(plan.subtotal - plan.discount + plan.tax + plan.surcharge, plan.total);
        let planned: Vec<&str> = plan.items.iter().map(|i| i.line_id.as_str()).collect();
        let invoiced: Vec<String> = (0..lines.len()).map(|i| (9000 + i).to_string()).collect();
        prop_assert_eq!(planned, invoiced.iter().map(String::as_str).collect::<Vec<_>>(), "every line once, in order");
        for (item, (quantity, price)) in plan.items.iter().zip(&lines) {
            prop_assert_eq!((item.quantity, item.unit_price), (*quantity, Cents(*price)));
        }
        prop_assert!(plan.is_fully_paid);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_catalogue_index_matches_exactly_as_scoring_every_product(
        names in proptest::collection::vec("[abc ]{0,12}", 0..40),
        line in "[abc -]{0,14}",
        threshold in 0.0f64..=1.0,
    ) {
        use connector::revel::product::Product;
        use connector::revel::product_match::{match_product, Catalog};
        let products: Vec<Product> = names.iter().enumerate().map(|(i, n)| Product::new(i.to_string(), n.as_str(), None)).collect();
        let index = Catalog::new(products.clone());
        prop_assert_eq!(
            index.best_match(&line, threshold).map(|p| p.id.clone()),
            match_product(&line, &products, threshold).map(|p| p.id.clone())
        );
    }
}

/// Any JSON value, a few levels deep: what a field of TripleSeat's may hold when it is
/// not what we expect.
fn any_json() -> impl Strategy<Value = Value> {
    // Numbers as JSON text: integers past 64 bits and decimals of many digits too.
    let number_text = prop_oneof![
        "-?[1-9][0-9]{0,25}",
        "-?(0|[1-9][0-9]{0,5})\\.[0-9]{1,8}",
        "[1-9]\\.[0-9]{1,3}e-?[0-9]{1,2}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number_text.prop_map(|text| serde_json::from_str::<Value>(&text).expect("a JSON number")),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A line item whose every field may be missing, of the right type, or of any other.
fn any_line() -> impl Strategy<Value = Value> {
    let field = |good: BoxedStrategy<Value>| prop_oneof![Just(None), good.prop_map(Some), any_json().prop_map(Some)];
    (
        field(an_id().boxed()),
        field("[A-Za-z ]{1,20}".prop_map(Value::String).boxed()),
        field((1i64..50).prop_map(|n| json!(n)).boxed()),
        field((0i64..10_000).prop_map(|c| json!(Cents(c).to_string())).boxed()),
    )
        .prop_map(|(id, name, quantity, price)| {
            let mut line = serde_json::Map::new();
            for (key, value) in [
                ("id", id),
                ("display_name", name),
                ("quantity", quantity),
                ("price", price),
            ] {
                if let Some(value) = value {
                    line.insert(key.into(), value);
                }
            }
            Value::Object(line)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_event_of_any_shape_is_read_or_refused_and_no_line_is_ever_dropped(
        lines in proptest::collection::vec(prop_oneof![4 => any_line(), 1 => any_json()], 1..8),
        noise in any_json(),
    ) {
        use connector::tripleseat::event::Event;
        let event = json!({"id": 1, "status": "DEFINITE", "documents": [
            {"title": "Invoice", "line_items": lines.clone(), "financials": noise.clone(), "payment_set": noise}
        ]});
        match Event::from_json(&event) {
            Ok(read) => {
                let invoice = read.invoice.expect("the titled document is the invoice");
                prop_assert_eq!(invoice.lines.len(), lines.len(), "every line read, none dropped");
                let sum = Cents::checked_sum(invoice.lines.iter().map(|l| l.total)).unwrap();
                prop_assert_eq!(invoice.totals.subtotal, sum);
                for line in &invoice.lines {
                    prop_assert!(line.quantity >= 1 && line.unit_price >= Cents::ZERO);
                }
            }
            Err(refused) => prop_assert!(refused.line.line.starts_with("line ") || refused.line.line.starts_with("the invoice")),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A run past the time gate reads the event straight from the body; it must be the
    /// event the tree reads, whatever its shape, or not be read that way at all.
    #[test]
    fn the_event_read_from_the_body_is_the_event_read_from_the_tree(
        lines in proptest::collection::vec(prop_oneof![4 => any_line(), 1 => any_json()], 0..6),
        noise in any_json(),
        date in prop_oneof![Just(json!("12/03/2026")), Just(json!("")), Just(Value::Null), any_json()],
    ) {
        use connector::tripleseat::event::wire::WireEvent;
        let body = json!({"webhook_trigger_type": "UPDATE_EVENT", "event": {
            "id": 1, "status": noise.clone(), "event_date": date, "grand_total": noise.clone(),
            "documents": [{"title": "Invoice", "line_items": lines, "financials": noise.clone(), "payment_set": noise}]
        }})
        .to_string();
        let delivery = Delivery::parse(body.as_bytes()).unwrap();
        let from_tree = format!("{:?}", delivery.event().and_then(WireEvent::read));
        let typed = delivery.typed_event();
        prop_assert!(typed.is_some(), "an `event` object is read from the body");
        prop_assert_eq!(format!("{typed:?}"), from_tree);
    }
}
