//! Field types that read JSON the way TripleSeat sends it. A field of an unexpected
//! type never fails the event: an object where a list belongs is an empty list, text
//! where an object belongs is no object. Scalars keep what they were (text, a number
//! as its exact digits, true/false) so the domain can say what is wrong with a value
//! it needs, instead of the value silently vanishing.
//!
//! They deserialize from bytes or from a `serde_json::Value` alike, amounts to the
//! digits they were written with.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::money::Cents;

/// An object read as `T`, or `None` when the JSON holds anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Obj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

/// A list of objects read as `T`. An element that is not an object is kept as
/// `T::default()`, so a line item is never lost to its shape; anything but a list
/// is an empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Many<T>(pub Vec<T>);

impl<T> Default for Many<T> {
    fn default() -> Self {
        Many(Vec::new())
    }
}

impl<T> Many<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Accepts any JSON value, answering `fallback()` for every shape but the one the
/// caller reads (an object or a list), and consuming what it skips.
macro_rules! anything_else_is {
    ($fallback:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($fallback)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj<T>, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)));
        };
        // serde_json (built with `arbitrary_precision`) hands a number over as a
        // one-key map: a number is no object.
        if first.starts_with(EXACT_NUMBER_KEY) {
            map.next_value::<IgnoredAny>()?;
            return Ok(Obj(None));
        }
        let replayed = Replay {
            first: Some(first),
            rest: map,
        };
        T::deserialize(de::value::MapAccessDeserializer::new(replayed)).map(|t| Obj(Some(t)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Obj(None))
    }

    anything_else_is!(Obj(None));
}

/// The key serde_json gives an exact number when it passes one on as a map.
const EXACT_NUMBER_KEY: &str = "$serde_json::private::Number";

/// A map whose first key was read already, to look at it.
struct Replay<A> {
    first: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(key) => seed
                .deserialize(de::IntoDeserializer::<A::Error>::into_deserializer(key))
                .map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for ManyVisitor<T> {
    type Value = Many<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Many<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
            items.push(item.unwrap_or_default());
        }
        Ok(Many(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Many<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Many(Vec::new()))
    }

    anything_else_is!(Many(Vec::new()));
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ManyVisitor(PhantomData))
    }
}

/// Text, trimmed; `None` when absent, empty, or not text at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub Option<String>);

impl Text {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Text(match Value::deserialize(deserializer)? {
            Value::String(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
            _ => None,
        }))
    }
}

/// A TripleSeat id, which arrives as a number or as text; `None` otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Id(pub Option<String>);

impl Id {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Id(super::super::id_string(Some(&Value::deserialize(deserializer)?))))
    }
}

/// An amount (money, or a quantity in hundredths), read exactly into cents from a
/// number's own digits or from text; what it was when it is not one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Amount {
    /// Absent or null.
    #[default]
    Absent,
    Read(Cents),
    /// `true` or `false`.
    Flag,
    /// Text that is not a decimal, a list, an object, or a number too large.
    NotAnAmount,
}

impl Amount {
    /// The amount when there is one; an unreadable one counts as none.
    pub fn cents(self) -> Option<Cents> {
        match self {
            Amount::Read(cents) => Some(cents),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AmountVisitor)
    }
}

/// Reads an amount from whatever serde_json hands over: text, an integer, the exact
/// digits of a number (a one-key map, with `arbitrary_precision`), or an `f64`. serde_json
/// gives a number as an `f64` only when the `f64` prints as the number was written, and
/// Rust prints an `f64` with those shortest digits and no exponent: so `0.000001` is read
/// as written either way, never through binary rounding.
struct AmountVisitor;

impl<'de> Visitor<'de> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Amount, E> {
        Ok(match text.trim().is_empty() {
            true => Amount::Absent,
            false => Cents::parse(text).map_or(Amount::NotAnAmount, Amount::Read),
        })
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Amount, E> {
        Ok(n.checked_mul(100)
            .map_or(Amount::NotAnAmount, |c| Amount::Read(Cents(c))))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Amount, E> {
        Ok(i64::try_from(n).map_or(Amount::NotAnAmount, |n| {
            n.checked_mul(100)
                .map_or(Amount::NotAnAmount, |c| Amount::Read(Cents(c)))
        }))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Amount, E> {
        Ok(Amount::NotAnAmount)
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Amount, E> {
        Ok(Amount::NotAnAmount)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Amount, E> {
        self.visit_str(&n.to_string())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Amount, E> {
        Ok(Amount::Flag)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Amount, E> {
        Ok(Amount::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Amount, E> {
        Ok(Amount::Absent)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Amount, A::Error> {
        let first = map.next_key::<String>()?;
        let amount = match first.as_deref() {
            Some(key) if key.starts_with(EXACT_NUMBER_KEY) => {
                let digits: String = map.next_value()?;
                Cents::parse(&digits).map_or(Amount::NotAnAmount, Amount::Read)
            }
            Some(_) => {
                map.next_value::<IgnoredAny>()?;
                Amount::NotAnAmount
            }
            None => Amount::NotAnAmount,
        };
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(amount)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Amount, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Amount::NotAnAmount)
    }
}

/// A field whose presence is all that matters: `true` unless absent or null.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IsSet(pub bool);

impl<'de> Deserialize<'de> for IsSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(IsSet(!Value::deserialize(deserializer)?.is_null()))
    }
}

/// A field kept as it came, for the domain to read (a date, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Raw(pub Value);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Shape {
        name: Text,
        id: Id,
        price: Amount,
        inner: Obj<Inner>,
        items: Many<Inner>,
        deleted_at: IsSet,
    }

    #[derive(Debug, Default, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    struct Inner {
        id: Id,
    }

    fn both(json: &str) -> Shape {
        let from_bytes: Shape = serde_json::from_str(json).unwrap();
        let from_value = Shape::deserialize(&serde_json::from_str::<Value>(json).unwrap()).unwrap();
        assert_eq!(from_bytes, from_value, "{json}");
        from_bytes
    }

    #[test]
    fn a_field_of_the_wrong_shape_is_absent_and_never_fails_the_whole() {
        for json in [
            r#"{"name": 7, "id": true, "price": [1], "inner": "x", "items": {"a": 1}, "deleted_at": null}"#,
            r#"{"name": null, "id": null, "price": null, "inner": 12.5, "items": 3}"#,
            r#"{"name": "  ", "id": "  ", "price": "", "inner": [1, 2], "items": "a"}"#,
        ] {
            let shape = both(json);
            assert_eq!(shape.name, Text(None), "{json}");
            assert_eq!(shape.id, Id(None), "{json}");
            assert_eq!(shape.inner, Obj(None), "{json}");
            assert!(shape.items.is_empty(), "{json}");
            assert!(!shape.deleted_at.0, "{json}");
            assert!(shape.price.cents().is_none(), "{json}");
        }
        assert_eq!(both(r#"{"price": [1]}"#).price, Amount::NotAnAmount);
        assert_eq!(both(r#"{"price": false}"#).price, Amount::Flag);
        assert_eq!(both(r#"{"price": "n/a"}"#).price, Amount::NotAnAmount);
    }

    #[test]
    fn values_of_the_right_shape_are_read_exactly() {
        let shape = both(
            r#"{"name": " Glazed ", "id": 8800101, "price": 2.25, "inner": {"id": "7"},
                "items": [{"id": 1}, "not an object", {"id": "2"}], "deleted_at": "01/01/2026"}"#,
        );
        assert_eq!(shape.name.get(), Some("Glazed"));
        assert_eq!(shape.id.get(), Some("8800101"));
        assert_eq!(shape.price, Amount::Read(Cents(2_25)));
        assert_eq!(shape.inner.get().and_then(|i| i.id.get()), Some("7"));
        // The element that is not an object is kept, empty: a line is never dropped.
        let ids: Vec<Option<&str>> = shape.items.iter().map(|i| i.id.get()).collect();
        assert_eq!(ids, [Some("1"), None, Some("2")]);
        assert!(shape.deleted_at.0);
        let big = both(r#"{"price": 123456789012345678901234567890}"#);
        assert_eq!(big.price, Amount::NotAnAmount);
        assert_eq!(both(r#"{"price": "137.70"}"#).price, Amount::Read(Cents(137_70)));
        // Digits kept whether serde_json hands the number over as its text or as an f64.
        for (text, cents) in [
            ("0.000001", 0),
            ("1e-7", 0),
            ("137.7", 137_70),
            ("2.675", 2_68),
            ("12", 12_00),
            ("-5", -5_00),
        ] {
            assert_eq!(
                both(&format!(r#"{{"price": {text}}}"#)).price,
                Amount::Read(Cents(cents)),
                "{text}"
            );
        }
        assert_eq!(both(r#"{"price": 1e400}"#).price, Amount::NotAnAmount);
    }
}
