//! Money as integer cents, parsed exactly from the decimal text TripleSeat and
//! Revel send (`"137.70"`, `137.7`, `"0.000000"`), never through a binary float.
//!
//! Arithmetic never wraps: `checked_times` and `checked_sum` say when a result would
//! not fit, and validation refuses an invoice whose amounts reach `MAX_INVOICE_AMOUNT`
//! (then every later sum of a few of them fits). The operators saturate, as a last
//! guard that can only be reached past that bound.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Serialize, Serializer};
use serde_json::Value;

/// An amount of money in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);
    /// The largest amount an invoice may hold, in any line, total or sum: ten billion
    /// dollars, far beyond any real event and far inside `i64`.
    pub const MAX_INVOICE_AMOUNT: Cents = Cents(1_000_000_000_000);

    /// Whether this amount is within the bound validation accepts, either sign.
    pub fn is_within_invoice_bound(self) -> bool {
        self.0.unsigned_abs() <= Self::MAX_INVOICE_AMOUNT.0.unsigned_abs()
    }

    /// `quantity` whole units at this unit price; `None` if it does not fit.
    pub fn checked_times(self, quantity: i64) -> Option<Cents> {
        self.0.checked_mul(quantity).map(Cents)
    }

    /// The sum, or `None` if it does not fit.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Cents>) -> Option<Cents> {
        amounts
            .into_iter()
            .try_fold(Cents::ZERO, |sum, amount| sum.0.checked_add(amount.0).map(Cents))
    }

    /// Parses a JSON number or string. `None` for null, an empty string or
    /// anything that is not a decimal (with or without an exponent).
    pub fn from_json(value: &Value) -> Option<Cents> {
        match value {
            // serde_json is built with `arbitrary_precision`, so a number keeps
            // the digits it arrived with.
            Value::Number(number) => Cents::parse(&number.to_string()),
            Value::String(text) => Cents::parse(text),
            _ => None,
        }
    }

    /// Parses decimal text such as `"137.70"`, `"-15.3"`, `"$1,234.5"`, `"0.000000"` or
    /// `"1.5e2"` (the exponent moves the point; no binary float is involved). Digits
    /// past the cent are rounded half away from zero.
    pub fn parse(text: &str) -> Option<Cents> {
        let mut text = text.trim();
        if text.is_empty() {
            return None;
        }
        let negative = text.starts_with('-');
        if negative || text.starts_with('+') {
            text = &text[1..];
        }
        let text = text.strip_prefix('$').unwrap_or(text);
        let cleaned: String = text.chars().filter(|c| *c != ',').collect();
        let cleaned = match cleaned.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => shift_point(mantissa, exponent)?,
            None => cleaned,
        };
        let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let digit = |i: usize| -> i64 { fraction.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0')) };
        let mut cents = whole.checked_mul(100)?.checked_add(digit(0) * 10 + digit(1))?;
        if digit(2) >= 5 {
            cents = cents.checked_add(1)?;
        }
        Some(Cents(if negative { -cents } else { cents }))
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn abs(self) -> Cents {
        Cents(self.0.abs())
    }

    /// `quantity` whole units at this unit price, for amounts validation already
    /// bounded (saturating past `i64`, never wrapping).
    pub fn times(self, quantity: i64) -> Cents {
        Cents(self.0.saturating_mul(quantity))
    }
}

/// `1.5e2` as `150.0`, `15e-3` as `0.015`: the exponent applied by moving the decimal
/// point, so the digits stay exact (as an `f64` printed in full would be). A number
/// under a thousandth is `0`, whatever its exponent; one of 10^40 or more is no amount.
fn shift_point(mantissa: &str, exponent: &str) -> Option<String> {
    let exponent: i64 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Where the point goes among the digits once leading zeros are gone.
    let significant = digits.trim_start_matches('0');
    let leading_zeros = i64::try_from(digits.len() - significant.len()).ok()?;
    let point = i64::try_from(whole.len())
        .ok()?
        .checked_add(exponent)?
        .checked_sub(leading_zeros)?;
    let length = i64::try_from(significant.len()).ok()?;
    Some(match point {
        _ if significant.is_empty() => "0".to_string(),
        p if p > 40 => return None,
        p if p <= -3 => "0".to_string(),
        p if p <= 0 => format!("0.{}{significant}", "0".repeat(p.unsigned_abs() as usize)),
        p if p >= length => format!("{significant}{}", "0".repeat((p - length) as usize)),
        p => format!("{}.{}", &significant[..p as usize], &significant[p as usize..]),
    })
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Serialised as a decimal string with two places, the form Revel accepts for writes.
impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, other: Cents) -> Cents {
        Cents(self.0.saturating_add(other.0))
    }
}

impl Sub for Cents {
    type Output = Cents;
    fn sub(self, other: Cents) -> Cents {
        Cents(self.0.saturating_sub(other.0))
    }
}

impl Neg for Cents {
    type Output = Cents;
    fn neg(self) -> Cents {
        Cents(self.0.saturating_neg())
    }
}

impl AddAssign for Cents {
    fn add_assign(&mut self, other: Cents) {
        *self = *self + other;
    }
}

impl SubAssign for Cents {
    fn sub_assign(&mut self, other: Cents) {
        *self = *self - other;
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimal_text_parses_to_exact_cents() {
        let cases = [
            ("137.70", Some(137_70)),
            ("137.7", Some(137_70)),
            ("0.000000", Some(0)),
            ("-15.30", Some(-15_30)),
            ("+2.25", Some(2_25)),
            ("18", Some(18_00)),
            (".5", Some(50)),
            ("$1,234.56", Some(1_234_56)),
            ("0.105", Some(11)),
            ("0.104999", Some(10)),
            ("  42.10 ", Some(42_10)),
            ("", None),
            (".", None),
            ("abc", None),
            ("1.2.3", None),
            ("1e2", Some(100_00)),
            ("1.5e-3", Some(0)),
            ("2.675E0", Some(2_68)),
            ("1e-7", Some(0)),
            ("12.5e1", Some(125_00)),
            ("1e41", None),
            ("1.1e-41", Some(0)),
            ("5e-3", Some(1)),
            ("0.0000000000000000000000000000000000000000000012e45", Some(1_20)),
            ("123456789012345678901234567890123456789012345e-43", Some(12_35)),
            ("0e99999", Some(0)),
            ("1e99999999999999999999", None),
            ("1e", None),
            ("e5", None),
            ("--1", None),
        ];
        for (text, expected) in cases {
            assert_eq!(Cents::parse(text).map(|c| c.0), expected, "parsing {text:?}");
        }
    }

    #[test]
    fn json_numbers_keep_their_exact_digits() {
        let value: Value = serde_json::from_str("[0.1, 137.70, 2.675, 100]").unwrap();
        let parsed: Vec<_> = value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Cents::from_json(v).unwrap().0)
            .collect();
        assert_eq!(parsed, vec![10, 137_70, 2_68, 100_00]);
        assert_eq!(Cents::from_json(&json!(null)), None);
        assert_eq!(Cents::from_json(&json!("2.75")), Some(Cents(2_75)));
    }

    #[test]
    fn cents_print_with_two_places() {
        assert_eq!(Cents(137_70).to_string(), "137.70");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(-15_30).to_string(), "-15.30");
        assert_eq!(Cents(-5).to_string(), "-0.05");
        assert_eq!(serde_json::to_value(Cents(0)).unwrap(), json!("0.00"));
    }

    #[test]
    fn arithmetic_stays_in_cents() {
        let total: Cents = [Cents(54_00), Cents(33_00), Cents(30_00), Cents(36_00)]
            .into_iter()
            .sum();
        assert_eq!(total, Cents(153_00));
        assert_eq!(Cents(2_25).times(24), Cents(54_00));
        assert_eq!(total - Cents(15_30), Cents(137_70));
    }

    #[test]
    fn nothing_wraps() {
        assert_eq!(Cents(i64::MAX / 2).checked_times(3), None);
        assert_eq!(Cents(2_25).checked_times(24), Some(Cents(54_00)));
        assert_eq!(Cents::checked_sum([Cents(i64::MAX), Cents(1)]), None);
        assert_eq!(Cents::checked_sum([Cents(1), Cents(2)]), Some(Cents(3)));
        assert_eq!(Cents(i64::MAX) + Cents(1), Cents(i64::MAX), "saturates, never wraps");
        assert_eq!(Cents(i64::MIN) - Cents(1), Cents(i64::MIN));
        assert!(Cents::MAX_INVOICE_AMOUNT.is_within_invoice_bound());
        assert!(!(Cents::MAX_INVOICE_AMOUNT + Cents(1)).is_within_invoice_bound());
        assert!((-Cents::MAX_INVOICE_AMOUNT).is_within_invoice_bound());
    }
}
