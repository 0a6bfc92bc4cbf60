//! A webhook delivery body, parsed once: the trigger, where the event or booking
//! sits (`event`, `booking` or `object`), its ids, its delivery key and its date.
//!
//! Most deliveries stop at their trigger (not actionable), and most of the rest at the
//! time gate (events are booked days ahead): what they need is those few fields. So
//! `parse` reads the body in one pass that checks it exactly as a full parse into
//! `serde_json::Value` would (the same deserializer, with the same rules for strings,
//! numbers, nesting and trailing bytes) but keeps only those fields and builds nothing
//! else. The values it does not keep are skipped with serde's `IgnoredAny` unless the
//! body holds one of the few things such a skip checks less than a parse does
//! (`skips_as_a_full_parse_reads`); then they are read in full. A run past the gate
//! reads the event into its typed form straight from the body (`typed_event`); the tree
//! is built only if `event` or `booking` is asked for.

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::event::date::{parse_event_date, DateProblem};
use super::event::lenient::Obj;
use super::event::wire::WireEvent;
use crate::idempotency::DeliveryKey;

/// Why a body is not a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryError {
    InvalidJson,
    NotAnObject,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    trigger: Option<String>,
    event_id: Option<String>,
    site_id: Option<String>,
    /// The id and `updated_at` the delivery key is made of.
    key_parts: Option<(String, String)>,
    /// The event's `event_date` and `event_date_iso8601`.
    dates: [DateField; 2],
    /// The event is the body's `event` object (not an `object`).
    event_is_under_event: bool,
    /// The body as a tree, built only when `event` or `booking` is asked for.
    root: OnceLock<Map<String, Value>>,
    /// The body, kept while its tree is not built.
    body: Option<Box<str>>,
}

/// The triggers that can lead to an order.
const ACTIONABLE_TRIGGERS: &[&str] = &[
    "CREATE_EVENT",
    "UPDATE_EVENT",
    "STATUS_CHANGE_EVENT",
    "CREATE_BOOKING",
    "STATUS_CHANGE_BOOKING",
    "EVENT_CREATED",
    "EVENT_UPDATED",
    "BOOKING_CREATED",
    "BOOKING_UPDATED",
];

pub fn is_actionable(trigger: &str) -> bool {
    ACTIONABLE_TRIGGERS.contains(&trigger)
}

impl Delivery {
    pub fn parse(body: &[u8]) -> Result<Delivery, DeliveryError> {
        // Bytes that are not UTF-8 fail a full parse wherever they are (in a string, or as
        // a syntax error outside one); checked once here, strings need no check of their own.
        let Ok(text) = std::str::from_utf8(body) else {
            return Err(DeliveryError::InvalidJson);
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let skim = match Skimmed::read(text, &mut deserializer).and_then(|skim| deserializer.end().map(|()| skim)) {
            Ok(Some(skim)) => skim,
            Ok(None) => return Err(DeliveryError::NotAnObject),
            Err(_) => return Err(DeliveryError::InvalidJson),
        };
        let trigger = [&skim.webhook_trigger_type, &skim.kind]
            .into_iter()
            .flatten()
            .map(|t| t.trim().to_ascii_uppercase())
            .find(|t| !t.is_empty());
        let (event, booking) = skim.event_and_booking();
        let event_id = event.and_then(|e| e.id.clone()).or_else(|| {
            let booking = booking?;
            booking.event_id.clone().or_else(|| booking.first_event_id.clone())
        });
        let site_id = event
            .and_then(|e| e.site_id.clone())
            .or_else(|| booking.and_then(|b| b.site_id.clone()))
            .or(skim.site_id.clone());
        let key_parts = match (event, booking) {
            (Some(event), _) if event.id.is_some() => event.id.clone().zip(Some(event.updated_at())),
            (_, Some(booking)) => booking
                .id
                .clone()
                .or_else(|| event_id.clone())
                .zip(Some(booking.updated_at())),
            _ => None,
        };
        Ok(Delivery {
            trigger,
            event_id,
            site_id,
            key_parts,
            dates: event.map(|e| e.dates.clone()).unwrap_or_default(),
            event_is_under_event: skim.event.is_some() && !skim.tree_only,
            root: OnceLock::new(),
            body: Some(text.into()),
        })
    }

    fn root(&self) -> &Map<String, Value> {
        self.root.get_or_init(|| {
            let body = self.body.as_deref().unwrap_or_default();
            match serde_json::from_str(body) {
                Ok(Value::Object(root)) => root,
                _ => unreachable!("invariant: `parse` read this body as a JSON object"),
            }
        })
    }

    /// `webhook_trigger_type`, else `type`, trimmed and upper-cased.
    pub fn trigger(&self) -> Option<String> {
        self.trigger.clone()
    }

    /// The event object: `event`, else an `object` that is not a booking.
    pub fn event(&self) -> Option<&Value> {
        let root = self.root();
        root.get("event")
            .filter(|v| v.is_object())
            .or_else(|| root.get("object").filter(|o| o.is_object() && !is_booking(o)))
    }

    /// The event object, taken out of the delivery rather than copied.
    pub fn into_event(self) -> Option<Value> {
        let _ = self.root();
        let mut root = self.root.into_inner()?;
        match root.remove("event").filter(Value::is_object) {
            Some(event) => Some(event),
            None => root.remove("object").filter(|o| o.is_object() && !is_booking(o)),
        }
    }

    /// The booking: `booking`, else an `object` that is one, else the event's nested booking.
    pub fn booking(&self) -> Option<&Value> {
        let root = self.root();
        root.get("booking")
            .filter(|v| v.is_object())
            .or_else(|| root.get("object").filter(|o| is_booking(o)))
            .or_else(|| self.event()?.get("booking").filter(|v| v.is_object()))
    }

    /// `event.id`, else `booking.event_id`, else `booking.event_ids[0]`.
    pub fn event_id(&self) -> Option<String> {
        self.event_id.clone()
    }

    /// `event.site_id`, else `booking.site_id`, else the root `site_id`.
    pub fn site_id(&self) -> Option<String> {
        self.site_id.clone()
    }

    /// `trigger:id:updated_at`, with the event's id (else the booking's) and its
    /// `updated_at` as an opaque string. `None` when there is no id to key on.
    pub fn key(&self, trigger: &str) -> Option<DeliveryKey> {
        let (id, updated_at) = self.key_parts.as_ref()?;
        Some(DeliveryKey::new(trigger, id, updated_at))
    }

    /// The event's own date, as `date::event_date` reads it from the event object.
    pub fn event_date(&self) -> Result<NaiveDate, DateProblem> {
        let field = self.dates.iter().find(|d| !matches!(d, DateField::Gap));
        match field {
            None => Err(DateProblem::Missing),
            Some(DateField::Text(text)) => parse_event_date(text).ok_or(DateProblem::InvalidFormat),
            Some(_) => Err(DateProblem::InvalidFormat),
        }
    }

    /// The event read straight from the body into its typed form, without the tree,
    /// when it is the body's `event` object; `None` otherwise, or when the body holds
    /// what only the tree reads as serde_json does (a repeated key: the last one wins).
    pub fn typed_event(&self) -> Option<WireEvent> {
        #[derive(serde::Deserialize)]
        struct EventOnly {
            event: Obj<WireEvent>,
        }
        let body = self.body.as_deref().filter(|_| self.event_is_under_event)?;
        serde_json::from_str::<EventOnly>(body).ok()?.event.0
    }
}

/// A date field of the event, as the time gate sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum DateField {
    /// Absent, null, or blank: the other field is looked at.
    #[default]
    Gap,
    Text(String),
    /// A number, a list, an object or a truth value: no date.
    NotText,
}

impl DateField {
    fn of(value: Read) -> DateField {
        match value {
            Read::Null => DateField::Gap,
            Read::Text(text) if text.trim().is_empty() => DateField::Gap,
            Read::Text(text) => DateField::Text(text),
            _ => DateField::NotText,
        }
    }
}

/// The fields of a body the answer needs, read without building the rest.
#[derive(Default)]
struct Skimmed {
    webhook_trigger_type: Option<String>,
    kind: Option<String>,
    site_id: Option<String>,
    event: Option<Holder>,
    booking: Option<Holder>,
    object: Option<Holder>,
    /// Only the tree may read this body's event: some object holds serde_json's number
    /// key after another key (the tree reads it where it sorts, first; the body where it
    /// was written), or its raw-value key anywhere (the tree reads its text as JSON).
    tree_only: bool,
}

/// What the ids are read from in an `event`, `booking` or `object` that is a JSON object.
#[derive(Default)]
struct Holder {
    id: Option<String>,
    site_id: Option<String>,
    event_id: Option<String>,
    /// Whether it has `event_ids` at all (a booking, then), and the first's id.
    has_event_ids: bool,
    first_event_id: Option<String>,
    /// Its own `booking`, when that is an object.
    booking: Option<Box<Holder>>,
    /// `updated_at` as the key writes it: text as sent, a number as its digits.
    updated_at: Option<String>,
    dates: [DateField; 2],
}

impl Holder {
    fn updated_at(&self) -> String {
        self.updated_at.clone().unwrap_or_default()
    }
}

impl Skimmed {
    /// The body's fields; `None` when it is JSON but not an object.
    fn read<'de>(
        text: &'de str,
        deserializer: &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    ) -> serde_json::Result<Option<Skimmed>> {
        let pass = Pass {
            tree_only: Cell::new(false),
            quick_skips: skips_as_a_full_parse_reads(text),
        };
        deserializer
            .deserialize_any(Object(Fields::Root, &pass))
            .map(|read| match read {
                Read::Root(skim) => Some(Skimmed {
                    tree_only: pass.tree_only.get(),
                    ..*skim
                }),
                _ => None,
            })
    }

    /// The event (`event`, else an `object` that is not a booking) and the booking
    /// (`booking`, else an `object` that is one, else the event's own), as `Delivery`
    /// finds them in the tree.
    fn event_and_booking(&self) -> (Option<&Holder>, Option<&Holder>) {
        let object_is_booking = self.object.as_ref().is_some_and(|o| o.has_event_ids);
        let event = self
            .event
            .as_ref()
            .or_else(|| self.object.as_ref().filter(|_| !object_is_booking));
        let booking = self
            .booking
            .as_ref()
            .or_else(|| self.object.as_ref().filter(|_| object_is_booking))
            .or_else(|| event.and_then(|e| e.booking.as_deref()));
        (event, booking)
    }
}

/// serde_json's own key for a number's text (`arbitrary_precision`): a number reaches a
/// visitor as a map of this one key, and a full parse reads any object whose first key
/// it is as a number, so the skim does too.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// serde_json's own key for a raw value (`raw_value`, on in this build through sqlx): a
/// full parse reads an object whose first key it is as the JSON its text holds, so the
/// skim does too.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Which fields of an object the skim keeps.
#[derive(Clone, Copy)]
enum Fields {
    Root,
    /// An `event`, `booking` or `object`; `nested` for a holder's own `booking`.
    Holder {
        nested: bool,
    },
    /// None: the value is only checked.
    Skip,
    /// An id: a string or a number, as text.
    Id,
    /// `event_ids`: the first element's id.
    FirstId,
}

impl Fields {
    fn names(self) -> &'static [&'static str] {
        match self {
            Fields::Root => &["webhook_trigger_type", "type", "site_id", "event", "booking", "object"],
            Fields::Holder { nested: false } => &[
                "id",
                "site_id",
                "event_id",
                "event_ids",
                "updated_at",
                "event_date",
                "event_date_iso8601",
                "booking",
            ],
            Fields::Holder { nested: true } => &["id", "site_id", "event_id", "event_ids", "updated_at"],
            Fields::Skip | Fields::Id | Fields::FirstId => &[],
        }
    }
}

/// What a value read as `Fields` turned out to hold.
enum Read {
    Root(Box<Skimmed>),
    Holder(Box<Holder>),
    Text(String),
    Number(String),
    FirstId(Option<String>),
    Null,
    /// Anything else (checked and dropped).
    Other,
}

impl Read {
    /// The value as `id_string` reads it.
    fn into_id(self) -> Option<String> {
        match self {
            Read::Number(n) => Some(n),
            Read::Text(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        }
    }
}

/// What one skim of a body shares between its values.
struct Pass {
    /// Set when only the tree may read the event (`Skimmed::tree_only`).
    tree_only: Cell<bool>,
    /// Values skipped with serde's `IgnoredAny`: the body holds nothing on which it
    /// and a full parse could disagree (`skips_as_a_full_parse_reads`).
    quick_skips: bool,
}

/// Reads one value as its `Fields` say: any JSON value, checked in full.
struct Object<'a>(Fields, &'a Pass);

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = Read;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Read, D::Error> {
        if let (Fields::Skip, true) = (self.0, self.1.quick_skips) {
            return IgnoredAny::deserialize(deserializer).map(|_| Read::Other);
        }
        deserializer.deserialize_any(self)
    }
}

/// Whether skipping a value with `IgnoredAny` (serde_json's `ignore_value`) checks it
/// exactly as a full parse into `Value` does. It checks the same grammar, strings
/// (control characters, escapes) and numbers, but three things less, so a body that
/// may hold any of them is read in full:
/// * it does not pair `\u` escapes of UTF-16 surrogates (a lone one fails a parse);
/// * it does not look at keys, and serde_json's number and raw-value keys make a parse
///   read their object as a number or as the JSON in its text. Both are
///   `$serde_json::private::…`: a key written `"$s…`, `"$\…` or with `\u0024`;
/// * it does not count nesting, and a parse stops past 127 levels: a body with no
///   more than 127 brackets in all cannot nest that deep.
fn skips_as_a_full_parse_reads(text: &str) -> bool {
    let bytes = text.as_bytes();
    if memchr::memchr2_iter(b'{', b'[', bytes).take(128).count() > 127 {
        return false;
    }
    if memchr::memchr2(b'$', b'\\', bytes).is_none() {
        return true;
    }
    // `"$100"` in a note is no such key; `"$s` or `"$` then an escape may be one.
    if [&b"\"$s"[..], b"\"$\\"]
        .iter()
        .any(|key| memchr::memmem::find(bytes, key).is_some())
    {
        return false;
    }
    !memchr::memmem::find_iter(bytes, b"\\u").any(|at| {
        let hex = &bytes[at + 2..bytes.len().min(at + 6)];
        let is_surrogate = matches!(hex, [b'd' | b'D', b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F', ..]);
        is_surrogate || hex == b"0024"
    })
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Read, E> {
        Ok(Read::Other)
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Read, E> {
        Ok(Read::Number(n.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Read, E> {
        Ok(Read::Number(n.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Read, E> {
        Ok(Read::Other)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Read, E> {
        Ok(match self.0 {
            Fields::Id | Fields::Root => Read::Text(text.to_string()),
            _ => Read::Other,
        })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Read, E> {
        Ok(Read::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
        let mut first = None;
        if let Fields::FirstId = self.0 {
            first = seq.next_element_seed(Object(Fields::Id, self.1))?.map(Read::into_id);
        }
        while seq.next_element_seed(Object(Fields::Skip, self.1))?.is_some() {}
        Ok(match self.0 {
            Fields::FirstId => Read::FirstId(first.flatten()),
            _ => Read::Other,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let names = self.0.names();
        let mut skim = Skimmed::default();
        let mut holder = Holder::default();
        let mut is_first = true;
        while let Some(key) = map.next_key_seed(KeyNames(names))? {
            let is_first = std::mem::take(&mut is_first);
            if is_first && key == Key::NUMBER {
                // A number (or an object a full parse reads as one): its text, checked as
                // that parse checks it, and nothing after it.
                let is_kept = matches!(self.0, Fields::Id | Fields::Root);
                let number = map.next_value_seed(NumberText { is_kept })?;
                return Ok(match (self.0, number) {
                    (Fields::FirstId, _) => Read::FirstId(None),
                    (_, Some(number)) => Read::Number(number),
                    (_, None) => Read::Other,
                });
            }
            if is_first && key == Key::RAW_VALUE {
                // Its text read as a body of its own (as the parse does), and nothing after it.
                self.1.tree_only.set(true);
                // A string, as for the parse (anything else fails there too).
                let text: String = map.next_value()?;
                let inner = Pass {
                    tree_only: Cell::new(false),
                    quick_skips: skips_as_a_full_parse_reads(&text),
                };
                let mut deserializer = serde_json::Deserializer::from_str(&text);
                return Object(self.0, &inner)
                    .deserialize(&mut deserializer)
                    .and_then(|read| deserializer.end().map(|()| read))
                    .map_err(serde::de::Error::custom);
            }
            if key == Key::NUMBER || key == Key::RAW_VALUE {
                self.1.tree_only.set(true);
            }
            let Some(field) = key.field() else {
                map.next_value_seed(Object(Fields::Skip, self.1))?;
                continue;
            };
            let name = names[field];
            let value = map.next_value_seed(Object(self.0.of_field(name), self.1))?;
            keep(self.0, name, value, &mut skim, &mut holder);
        }
        Ok(match self.0 {
            Fields::Root => Read::Root(Box::new(skim)),
            Fields::Holder { .. } => Read::Holder(Box::new(holder)),
            Fields::FirstId => Read::FirstId(None),
            _ => Read::Other,
        })
    }
}

impl Fields {
    /// What to read of the field `name` of an object read for these fields.
    fn of_field(self, name: &str) -> Fields {
        match (self, name) {
            (Fields::Root, "event" | "booking" | "object") => Fields::Holder { nested: false },
            (Fields::Holder { .. }, "booking") => Fields::Holder { nested: true },
            (Fields::Holder { .. }, "event_ids") => Fields::FirstId,
            _ => Fields::Id,
        }
    }
}

/// Keeps what the field `name` held: in the skim at the root, else in the holder.
fn keep(fields: Fields, name: &str, value: Read, skim: &mut Skimmed, holder: &mut Holder) {
    let holder_of = |value: Read| match value {
        Read::Holder(holder) => Some(holder),
        _ => None,
    };
    let text = |value: Read| match value {
        Read::Text(text) => Some(text),
        _ => None,
    };
    match (fields, name) {
        (Fields::Root, "webhook_trigger_type") => skim.webhook_trigger_type = text(value),
        (Fields::Root, "type") => skim.kind = text(value),
        (Fields::Root, "site_id") => skim.site_id = value.into_id(),
        (Fields::Root, "event") => skim.event = holder_of(value).map(|h| *h),
        (Fields::Root, "booking") => skim.booking = holder_of(value).map(|h| *h),
        (Fields::Root, _) => skim.object = holder_of(value).map(|h| *h),
        (_, "id") => holder.id = value.into_id(),
        (_, "site_id") => holder.site_id = value.into_id(),
        (_, "event_id") => holder.event_id = value.into_id(),
        (_, "updated_at") => {
            holder.updated_at = match value {
                Read::Text(text) | Read::Number(text) => Some(text),
                _ => None,
            }
        }
        (_, "event_date") => holder.dates[0] = DateField::of(value),
        (_, "event_date_iso8601") => holder.dates[1] = DateField::of(value),
        (_, "event_ids") => {
            holder.has_event_ids = true;
            holder.first_event_id = match value {
                Read::FirstId(first) => first,
                _ => None,
            };
        }
        (_, _) => holder.booking = holder_of(value),
    }
}

/// A number's text, checked as a full parse checks it (`serde_json::Number`'s own
/// parser); kept (as that parser writes it) only when it may be an id. A plain JSON
/// number, as every real one is, needs no parse to be known good.
struct NumberText {
    is_kept: bool,
}

impl<'de> DeserializeSeed<'de> for NumberText {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<String>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NumberText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number's text")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Option<String>, E> {
        if !self.is_kept && is_plain_number(text) {
            return Ok(None);
        }
        let number: serde_json::Number = text.parse().map_err(E::custom)?;
        Ok(self.is_kept.then(|| number.to_string()))
    }
}

/// `-? digits (. digits)? ([eE] [+-]? digits)?` with no leading zero: JSON's grammar.
fn is_plain_number(text: &str) -> bool {
    let bytes = text.strip_prefix('-').unwrap_or(text).as_bytes();
    let digits = |at: usize| bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    let whole = digits(0);
    if whole == 0 || (whole > 1 && bytes[0] == b'0') {
        return false;
    }
    let mut at = whole;
    if bytes.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return false;
        }
        at += 1 + fraction;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == bytes.len()
}

/// An object's key, as the index of a kept field (or `usize::MAX`), or a token.
#[derive(PartialEq, Eq)]
struct Key(usize);

impl Key {
    const RAW_VALUE: Key = Key(usize::MAX - 2);
    const NUMBER: Key = Key(usize::MAX - 1);
    const OTHER: Key = Key(usize::MAX);

    fn field(&self) -> Option<usize> {
        (self.0 < usize::MAX - 2).then_some(self.0)
    }
}

/// Reads a key against the names kept.
struct KeyNames(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyNames {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyNames {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        match key {
            NUMBER_TOKEN => return Ok(Key::NUMBER),
            RAW_VALUE_TOKEN => return Ok(Key::RAW_VALUE),
            _ => {}
        }
        Ok(self.0.iter().position(|name| *name == key).map_or(Key::OTHER, Key))
    }
}

fn is_booking(object: &Value) -> bool {
    object.get("event_ids").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tripleseat::event::date;
    use crate::tripleseat::id_string;
    use serde_json::json;

    /// What a delivery reads as: the trigger, the event id, the site id, the key (for
    /// `UPDATE_EVENT`) and the event's date.
    type Reading = ([Option<String>; 3], Option<DeliveryKey>, Result<NaiveDate, DateProblem>);

    fn delivery(value: Value) -> Delivery {
        Delivery::parse(value.to_string().as_bytes()).unwrap()
    }

    /// The rules read over the whole tree, as `Delivery` read them before it skimmed,
    /// or why the body is no delivery.
    fn over_the_tree(body: &[u8]) -> Result<Reading, DeliveryError> {
        let root = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(root)) => root,
            Ok(_) => return Err(DeliveryError::NotAnObject),
            Err(_) => return Err(DeliveryError::InvalidJson),
        };
        let trigger = ["webhook_trigger_type", "type"]
            .iter()
            .filter_map(|field| root.get(*field)?.as_str())
            .map(|t| t.trim().to_ascii_uppercase())
            .find(|t| !t.is_empty());
        let event = root
            .get("event")
            .filter(|v| v.is_object())
            .or_else(|| root.get("object").filter(|o| o.is_object() && !is_booking(o)));
        let booking = root
            .get("booking")
            .filter(|v| v.is_object())
            .or_else(|| root.get("object").filter(|o| is_booking(o)))
            .or_else(|| event?.get("booking").filter(|v| v.is_object()));
        let event_id = id_string(event.and_then(|e| e.get("id"))).or_else(|| {
            let booking = booking?;
            id_string(booking.get("event_id")).or_else(|| id_string(booking.get("event_ids")?.as_array()?.first()))
        });
        let site_id = id_string(event.and_then(|e| e.get("site_id")))
            .or_else(|| id_string(booking.and_then(|b| b.get("site_id"))))
            .or_else(|| id_string(root.get("site_id")));
        let (id, holder) = match (event, booking) {
            (Some(event), _) if id_string(event.get("id")).is_some() => (id_string(event.get("id")), event),
            (_, Some(booking)) => (id_string(booking.get("id")).or_else(|| event_id.clone()), booking),
            _ => (None, &Value::Null),
        };
        let updated_at = match holder.get("updated_at") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let key = id.map(|id| DeliveryKey::new("UPDATE_EVENT", &id, &updated_at));
        let date = event.map_or(Err(DateProblem::Missing), |e| {
            date::event_date([&e["event_date"], &e["event_date_iso8601"]])
        });
        Ok(([trigger, event_id, site_id], key, date))
    }

    fn assert_reads_as_the_tree(body: &[u8]) {
        let skimmed = Delivery::parse(body).map(|d| {
            // The event read straight from the body is the one read from the tree.
            if let Some(typed) = d.typed_event() {
                let tree = d.event().and_then(WireEvent::read);
                assert_eq!(
                    format!("{:?}", Some(typed)),
                    format!("{tree:?}"),
                    "{}",
                    String::from_utf8_lossy(body)
                );
            }
            // The tree is there whenever it is asked for, whatever the trigger.
            let _ = (d.event(), d.booking());
            (
                [d.trigger(), d.event_id(), d.site_id()],
                d.key("UPDATE_EVENT"),
                d.event_date(),
            )
        });
        assert_eq!(skimmed, over_the_tree(body), "{}", String::from_utf8_lossy(body));
    }

    #[test]
    fn the_skim_reads_what_the_tree_holds_and_refuses_what_it_refuses() {
        let deep = |levels: usize| {
            format!(
                r#"{{"type":"CREATE_LEAD","x":{}1{}}}"#,
                "[".repeat(levels),
                "]".repeat(levels)
            )
        };
        let cases: Vec<Vec<u8>> = [
            "{}",
            "[]",
            "1",
            "null",
            r#""text""#,
            " { } ",
            r#"{"type":"CREATE_LEAD"} x"#,
            r#"{"type":"CREATE_LEAD",}"#,
            r#"{"type":"a\u0000"}"#,
            "{\"type\":\"a\x01\"}",
            r#"{"type":"CREATE_LEAD","note":"\ud800"}"#,
            r#"{"type":"CREATE_LEAD","note":"\udc00"}"#,
            r#"{"type":"CREATE_LEAD","note":"\ud83d\ude00 \u00e9"}"#,
            r#"{"type":"CREATE_LEAD","note":"\q"}"#,
            r#"{"type":"CREATE_LEAD","n":01}"#,
            r#"{"type":"CREATE_LEAD","n":1e999999,"m":-0.0e-7}"#,
            r#"{"ty\u0070e":"create_lead","event":{"i\u0064":7}}"#,
            r#"{"type":"CREATE_LEAD","type":5}"#,
            r#"{"type":5,"webhook_trigger_type":" x "}"#,
            r#"{"event":{"id":1},"event":5,"object":{"id":9,"site_id":2}}"#,
            r#"{"event":{"$serde_json::private::Number":"5"},"object":{"id":9}}"#,
            r#"{"event":{"$serde_json::private::Number":"x"}}"#,
            r#"{"event":{"$serde_json::private::Number":"5","id":3}}"#,
            r#"{"event":{"id":{"$serde_json::private::Number":"12"}}}"#,
            r#"{"event":{"a":1,"$serde_json::private::Number":"5","id":3}}"#,
            r#"{"$serde_json::private::Number":"5"}"#,
            r#"{"booking":{"id":5,"event_ids":null,"site_id":" 3 "}}"#,
            r#"{"object":{"id":5,"event_ids":[" 66 ",67]}}"#,
            r#"{"object":{"id":5,"event_ids":{}},"event":[1]}"#,
            r#"{"object":{"id":5,"booking":{"event_id":8,"site_id":4}}}"#,
            r#"{"event":{"booking":{"event_ids":[12345678901234567890123],"booking":{"event_id":1}}},"site_id":1.50}"#,
            // Bad values where the skim only checks them (skipped with `IgnoredAny`).
            "{\"type\":\"CREATE_LEAD\",\"note\":\"a\x01\"}",
            "{\"type\":\"CREATE_LEAD\",\"x\":{\"n\x1f\":1}}",
            r#"{"type":"CREATE_LEAD","x":[1,]}"#,
            r#"{"type":"CREATE_LEAD","x":{"a":1,}}"#,
            r#"{"type":"CREATE_LEAD","x":{"a" 1}}"#,
            r#"{"type":"CREATE_LEAD","x":[1 2]}"#,
            r#"{"type":"CREATE_LEAD","x":tru}"#,
            r#"{"type":"CREATE_LEAD","x":[-]}"#,
            r#"{"type":"CREATE_LEAD","x":[1.]}"#,
            r#"{"type":"CREATE_LEAD","x":[.5]}"#,
            r#"{"type":"CREATE_LEAD","x":[1e+]}"#,
            r#"{"type":"CREATE_LEAD","x":[00]}"#,
            r#"{"type":"CREATE_LEAD","x":["\u12g4"]}"#,
            r#"{"type":"CREATE_LEAD","x":{"\u00e9\n\/":[1e999999,-0.0e-7,"\u0000"]}}"#,
            r#"{"type":"CREATE_LEAD","x":["$5 \\ud800", "\\"]}"#,
            r#"{"type":"CREATE_LEAD","x":{"\u0024serde_json::private::Number":"x"}}"#,
            r#"{"type":"CREATE_LEAD","x":{"\u0024serde_json::private::Number":"5"}}"#,
            r#"{"event":{"id":1,"x":{"\u0024serde_json::private::Number":"5","y":1}}}"#,
            r#"{"type":"CREATE_LEAD","x":["\uD800"]}"#,
            r#"{"type":"CREATE_LEAD","x":{"\uDBFF\uDFFF":1}}"#,
            r#"{"type":"CREATE_LEAD","x":"unterminated}"#,
            r#"{"type":"CREATE_LEAD","note":"$100 deposit","x":{"a":[1,]}}"#,
            r#"{"type":"CREATE_LEAD","note":"$100 deposit","x":{"a":[1],"b":"$5"}}"#,
            // serde_json's raw-value key: a full parse reads its text as JSON.
            r#"{"type":"CREATE_LEAD","x":{"$serde_json::private::RawValue":"nope"}}"#,
            r#"{"type":"CREATE_LEAD","x":{"$serde_json::private::RawValue":"[1,2]"}}"#,
            r#"{"event":{"$serde_json::private::RawValue":"{\"id\":9,\"event_date\":\"2026-05-16\"}"}}"#,
            r#"{"event":{"$serde_json::private::RawValue":"{\"id\":9}","x":1}}"#,
            r#"{"event":{"$serde_json::private::RawValue":5}}"#,
            r#"{"event":{"$serde_json::private::RawValue":"{\"id\":9} x"}}"#,
            r#"{"event":{"id":3,"x":{"$serde_json::private::RawValue":"[1,2]"}}}"#,
            r#"{"event":{"id":3,"a":1,"$serde_json::private::RawValue":"[1"}}"#,
            r#"{"event":{"id":{"$serde_json::private::RawValue":"\" 12 \""},"site_id":{"$serde_json::private::RawValue":"7"}}}"#,
            r#"{"$serde_json::private::RawValue":"{\"type\":\"UPDATE_EVENT\",\"event\":{\"id\":4}}"}"#,
            r#"{"$serde_json::private::RawValue":"[1]"}"#,
            r#"{"event":{"$serde_json::private::RawValue":"{\"id\":\"\\ud800\"}"}}"#,
            r#"{"event":{"$serde_json::private::RawValue":"{\"id\":{\"$serde_json::private::RawValue\":\"5\"}}"}}"#,
            r#"{"event":{"\u0024serde_json::private::RawValue":"{\"id\":9}"}}"#,
            r#"{"event":{"$\u0073erde_json::private::RawValue":"{\"id\":9}"}}"#,
            r#"{"type":"CREATE_LEAD","x":[{"a":[{}]}]"#,
        ]
        .iter()
        .map(|body| body.as_bytes().to_vec())
        .chain([deep(125), deep(126), deep(127), deep(128)].map(String::into_bytes))
        .chain([
            b"{\"type\":\"CREATE_LEAD\",\"note\":\"\xff\"}".to_vec(),
            b"\xef\xbb\xbf{}".to_vec(),
        ])
        .collect();
        for body in &cases {
            assert_reads_as_the_tree(body);
        }
    }

    #[test]
    fn bodies_a_skip_and_a_full_parse_would_disagree_on_are_read_in_full() {
        let deep = format!(r#"{{"x":{}{}}}"#, "[".repeat(127), "]".repeat(127));
        let disagreeing = [
            r#"{"x":"\ud800"}"#.to_string(),
            r#"{"x":{"\uDC00":1}}"#.to_string(),
            r#"{"x":{"$serde_json::private::Number":"x"}}"#.to_string(),
            r#"{"x":{"\u0024serde_json::private::Number":"x"}}"#.to_string(),
            r#"{"x":{"$serde_json::private::RawValue":"nope"}}"#.to_string(),
            r#"{"x":{"$\u0073erde_json::private::RawValue":"nope"}}"#.to_string(),
            deep,
        ];
        for body in &disagreeing {
            let skipped = serde_json::from_str::<IgnoredAny>(body).is_ok();
            let parsed = serde_json::from_str::<Value>(body).is_ok();
            assert!(skipped && !parsed, "a skip and a parse agree on {body}");
            assert!(!skips_as_a_full_parse_reads(body), "{body}");
        }
        let fixture = include_str!("../../tests/fixtures/event_full.json");
        for body in [
            fixture,
            r#"{"x":"\u00e9 \ud7ff \ue000 $5","y":[[[]]]}"#,
            r#"{"x":"\\","y":"\"","z":{}}"#,
            r#"{"x":"$100","y":"$5 \"$2\""}"#,
        ] {
            assert!(skips_as_a_full_parse_reads(body), "{body}");
        }
    }

    #[test]
    fn plain_numbers_are_told_from_text_that_is_not_one() {
        for number in [
            "0",
            "-0",
            "7",
            "61234567",
            "1.50",
            "-0.5e-7",
            "1E3",
            "2e+10",
            "12345678901234567890123",
        ] {
            assert!(is_plain_number(number), "{number}");
            assert!(number.parse::<serde_json::Number>().is_ok(), "{number}");
        }
        for text in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", " 1", "1 ", "0x1", "1.5.2", "--1", "NaN",
        ] {
            assert!(!is_plain_number(text), "{text:?}");
        }
    }

    #[test]
    fn the_skim_agrees_with_the_tree_on_generated_bodies() {
        let ids = [
            "61234567",
            r#""61234567""#,
            r#"" 42 ""#,
            r#""""#,
            "null",
            "true",
            "1.50",
            "-3",
            "1E3",
            "[1,2]",
            "{}",
            r#"{"$serde_json::private::Number":"77"}"#,
            r#"{"$serde_json::private::RawValue":"77"}"#,
            r#"{"$serde_json::private::RawValue":"\" 78 \""}"#,
            r#""\u0031""#,
            "12345678901234567890123",
        ];
        let triggers = [
            r#""UPDATE_EVENT""#,
            r#"" create_lead ""#,
            r#""""#,
            "7",
            "null",
            r#"["CREATE_EVENT"]"#,
        ];
        // A small deterministic generator: the same bodies on every run.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut pick = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..4_000 {
            let holder = |depth: usize, pick: &mut dyn FnMut(usize) -> usize| -> String {
                let mut fields = Vec::new();
                for name in ["id", "site_id", "event_id", "updated_at", "note"] {
                    if pick(2) == 0 {
                        fields.push(format!(r#""{name}":{}"#, ids[pick(ids.len())]));
                    }
                }
                match pick(4) {
                    0 => fields.push(format!(r#""event_ids":[{}]"#, ids[pick(ids.len())])),
                    1 => fields.push(r#""event_ids":null"#.to_string()),
                    _ => {}
                }
                if depth == 0 && pick(3) == 0 {
                    fields.push(format!(
                        r#""booking":{{"event_id":{},"site_id":{}}}"#,
                        ids[pick(ids.len())],
                        ids[pick(ids.len())]
                    ));
                }
                match pick(6) {
                    0 => ids[pick(ids.len())].to_string(),
                    _ => format!("{{{}}}", fields.join(",")),
                }
            };
            let mut fields = Vec::new();
            for name in [
                "webhook_trigger_type",
                "type",
                "event",
                "booking",
                "object",
                "site_id",
                "event",
            ] {
                if pick(2) == 0 {
                    let value = match name {
                        "webhook_trigger_type" | "type" => triggers[pick(triggers.len())].to_string(),
                        "site_id" => ids[pick(ids.len())].to_string(),
                        _ => holder(0, &mut pick),
                    };
                    fields.push(format!(r#""{name}":{value}"#));
                }
            }
            let body = format!("{{{}}}", fields.join(","));
            assert_reads_as_the_tree(body.as_bytes());
        }
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_told_apart() {
        assert_eq!(Delivery::parse(b"").unwrap_err(), DeliveryError::InvalidJson);
        assert_eq!(Delivery::parse(b"{nope").unwrap_err(), DeliveryError::InvalidJson);
        assert_eq!(Delivery::parse(b"[1,2]").unwrap_err(), DeliveryError::NotAnObject);
        assert_eq!(Delivery::parse(b"\"text\"").unwrap_err(), DeliveryError::NotAnObject);
    }

    #[test]
    fn ids_are_found_where_tripleseat_puts_them() {
        let cases = [
            (
                json!({"event": {"id": 61234567, "site_id": 15901}}),
                Some("61234567"),
                Some("15901"),
            ),
            (
                json!({"event": {"id": "61234567"}, "site_id": "15901"}),
                Some("61234567"),
                Some("15901"),
            ),
            (
                json!({"booking": {"id": 5, "event_id": 77, "site_id": 3}}),
                Some("77"),
                Some("3"),
            ),
            (json!({"booking": {"id": 5, "event_ids": [88, 89]}}), Some("88"), None),
            (json!({"object": {"id": 9, "site_id": 2}}), Some("9"), Some("2")),
            (json!({"object": {"id": 5, "event_ids": [66]}}), Some("66"), None),
            (json!({"event": {"name": "no id"}}), None, None),
            (json!({"event": {"id": ""}}), None, None),
        ];
        for (body, event_id, site_id) in cases {
            let d = delivery(body.clone());
            assert_eq!(d.event_id().as_deref(), event_id, "event id of {body}");
            assert_eq!(d.site_id().as_deref(), site_id, "site id of {body}");
        }
    }

    #[test]
    fn the_trigger_comes_from_either_field() {
        assert_eq!(
            delivery(json!({"webhook_trigger_type": "UPDATE_EVENT"}))
                .trigger()
                .as_deref(),
            Some("UPDATE_EVENT")
        );
        assert_eq!(
            delivery(json!({"type": "create_booking"})).trigger().as_deref(),
            Some("CREATE_BOOKING")
        );
        assert_eq!(delivery(json!({"webhook_trigger_type": " "})).trigger(), None);
        assert!(is_actionable("STATUS_CHANGE_EVENT") && !is_actionable("DELETE_EVENT"));
    }

    #[test]
    fn the_key_is_trigger_id_and_updated_at() {
        let d = delivery(json!({"event": {"id": 1, "updated_at": "05/14/2026 04:51 PM"}}));
        assert_eq!(
            d.key("UPDATE_EVENT").unwrap().as_str(),
            "UPDATE_EVENT:1:05/14/2026 04:51 PM"
        );
        let b = delivery(json!({"booking": {"id": 5, "event_ids": [7], "updated_at": "x"}}));
        assert_eq!(b.key("CREATE_BOOKING").unwrap().as_str(), "CREATE_BOOKING:5:x");
        assert!(delivery(json!({"event": {}})).key("UPDATE_EVENT").is_none());
    }
}
