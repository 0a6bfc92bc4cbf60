//! The event's date as TripleSeat writes it, for the time gate.

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

/// Why no date could be gated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    InvalidFormat,
    Missing,
}

/// The event's date from `event_date` or `event_date_iso8601`, whichever is present first.
pub fn event_date(fields: [&Value; 2]) -> Result<NaiveDate, DateProblem> {
    let text = fields
        .into_iter()
        .find_map(|value| match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            other => Some(other),
        })
        .ok_or(DateProblem::Missing)?;
    text.as_str()
        .and_then(parse_event_date)
        .ok_or(DateProblem::InvalidFormat)
}

/// `MM/DD/YYYY`, `YYYY-MM-DD`, or an ISO 8601 date-time, whose date is taken as
/// written: TripleSeat writes it in the venue's own time.
pub fn parse_event_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%m/%d/%Y")
        .ok()
        .filter(|_| text.len() == 10)
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|_| text.len() == 10)
        })
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|dt| dt.date_naive()))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|dt| dt.date())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn read(event: &Value) -> Result<NaiveDate, DateProblem> {
        event_date([&event["event_date"], &event["event_date_iso8601"]])
    }

    #[test]
    fn all_three_date_formats_parse() {
        let cases = [
            ("05/16/2026", Some(date(2026, 5, 16))),
            ("2026-05-16", Some(date(2026, 5, 16))),
            ("2026-05-16T10:00:00-07:00", Some(date(2026, 5, 16))),
            ("2026-05-16T23:30:00+14:00", Some(date(2026, 5, 16))),
            ("2026-05-16T17:00:00Z", Some(date(2026, 5, 16))),
            ("2026-05-16T10:00:00", Some(date(2026, 5, 16))),
            (" 05/16/2026 ", Some(date(2026, 5, 16))),
            ("5/16/2026", None),
            ("16.05.2026", None),
            ("13/01/2026", None),
            ("2026-02-30", None),
            ("tomorrow", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_event_date(text), expected, "{text:?}");
        }
    }

    #[test]
    fn the_event_date_field_is_found_or_its_absence_named() {
        assert_eq!(read(&json!({"event_date": "05/16/2026"})), Ok(date(2026, 5, 16)));
        assert_eq!(
            read(&json!({"event_date_iso8601": "2026-05-16"})),
            Ok(date(2026, 5, 16))
        );
        assert_eq!(
            read(&json!({"event_date": "", "event_date_iso8601": "2026-05-16"})),
            Ok(date(2026, 5, 16))
        );
        assert_eq!(read(&json!({"event_date": "soon"})), Err(DateProblem::InvalidFormat));
        assert_eq!(read(&json!({"event_date": 20260516})), Err(DateProblem::InvalidFormat));
        assert_eq!(read(&json!({"name": "x"})), Err(DateProblem::Missing));
        assert_eq!(read(&json!({"event_date": null})), Err(DateProblem::Missing));
    }
}
