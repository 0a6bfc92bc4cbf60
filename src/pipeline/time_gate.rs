//! The time gate: an order is injected only on the event's own day in the site's
//! timezone, and inside the optional injection window. A pure function of
//! (date, timezone, now, window), so it is tested with fixed clocks.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// The site-local hours in which orders may be injected (`INJECTION_WINDOW`, `HH:MM-HH:MM`).
/// A window whose end is before its start runs over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectionWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl InjectionWindow {
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

impl FromStr for InjectionWindow {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("expected HH:MM-HH:MM, got {text:?}"))?;
        let time = |part: &str| {
            NaiveTime::parse_from_str(part.trim(), "%H:%M")
                .map_err(|_| format!("{:?} is not a time of day HH:MM", part.trim()))
        };
        let window = InjectionWindow {
            start: time(start)?,
            end: time(end)?,
        };
        if window.start == window.end {
            return Err("the window's start and end are the same".into());
        }
        Ok(window)
    }
}

/// The gate's verdict for a readable date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    TooEarly,
    EventDayPassed,
    OutsideWindow,
}

pub fn check_time_gate(date: NaiveDate, timezone: Tz, now: DateTime<Utc>, window: Option<InjectionWindow>) -> Gate {
    let local_now = now.with_timezone(&timezone);
    let today = local_now.date_naive();
    if date > today {
        Gate::TooEarly
    } else if date < today {
        Gate::EventDayPassed
    } else if window.is_some_and(|w| !w.contains(local_now.time())) {
        Gate::OutsideWindow
    } else {
        Gate::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::{America, Asia, Pacific};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_gate_opens_only_on_the_sites_own_day() {
        let la = America::Los_Angeles;
        let cases = [
            (
                "today in LA",
                date(2026, 5, 16),
                la,
                utc(2026, 5, 16, 18, 0),
                Gate::Open,
            ),
            (
                "tomorrow in LA",
                date(2026, 5, 17),
                la,
                utc(2026, 5, 16, 18, 0),
                Gate::TooEarly,
            ),
            (
                "yesterday in LA",
                date(2026, 5, 15),
                la,
                utc(2026, 5, 16, 18, 0),
                Gate::EventDayPassed,
            ),
            // 06:30 UTC on the 17th is still 23:30 on the 16th in LA.
            (
                "late evening in LA is still the event day",
                date(2026, 5, 16),
                la,
                utc(2026, 5, 17, 6, 30),
                Gate::Open,
            ),
            (
                "one minute past LA midnight",
                date(2026, 5, 16),
                la,
                utc(2026, 5, 17, 7, 1),
                Gate::EventDayPassed,
            ),
            // Kiritimati is UTC+14: at 10:30 UTC on the 15th it is already the 16th there.
            (
                "far east of UTC is a day ahead",
                date(2026, 5, 16),
                Pacific::Kiritimati,
                utc(2026, 5, 15, 10, 30),
                Gate::Open,
            ),
            (
                "just before midnight far east",
                date(2026, 5, 16),
                Pacific::Kiritimati,
                utc(2026, 5, 15, 9, 59),
                Gate::TooEarly,
            ),
            (
                "Kolkata half-hour offset",
                date(2026, 5, 16),
                Asia::Kolkata,
                utc(2026, 5, 15, 18, 29),
                Gate::TooEarly,
            ),
            (
                "Kolkata after its midnight",
                date(2026, 5, 16),
                Asia::Kolkata,
                utc(2026, 5, 15, 18, 30),
                Gate::Open,
            ),
            // DST starts 2026-03-08 in New York at 02:00 (UTC-5 to UTC-4).
            (
                "spring-forward day, early",
                date(2026, 3, 8),
                America::New_York,
                utc(2026, 3, 8, 5, 0),
                Gate::Open,
            ),
            (
                "spring-forward day, late",
                date(2026, 3, 8),
                America::New_York,
                utc(2026, 3, 9, 3, 59),
                Gate::Open,
            ),
            (
                "after spring-forward midnight",
                date(2026, 3, 8),
                America::New_York,
                utc(2026, 3, 9, 4, 0),
                Gate::EventDayPassed,
            ),
            // DST ends 2026-11-01 in New York (UTC-4 to UTC-5): the day lasts 25 hours.
            (
                "fall-back day, first hour",
                date(2026, 11, 1),
                America::New_York,
                utc(2026, 11, 1, 4, 0),
                Gate::Open,
            ),
            (
                "fall-back day, last hour",
                date(2026, 11, 1),
                America::New_York,
                utc(2026, 11, 2, 4, 59),
                Gate::Open,
            ),
            (
                "after fall-back midnight",
                date(2026, 11, 1),
                America::New_York,
                utc(2026, 11, 2, 5, 0),
                Gate::EventDayPassed,
            ),
        ];
        for (description, event_day, tz, now, expected) in cases {
            assert_eq!(check_time_gate(event_day, tz, now, None), expected, "{description}");
        }
    }

    #[test]
    fn the_window_is_read_in_site_local_time() {
        let window: InjectionWindow = "06:00-22:00".parse().unwrap();
        let la = America::Los_Angeles;
        let day = date(2026, 5, 16);
        let cases = [
            ("05:59 local", utc(2026, 5, 16, 12, 59), Gate::OutsideWindow),
            ("06:00 local", utc(2026, 5, 16, 13, 0), Gate::Open),
            ("21:59 local", utc(2026, 5, 17, 4, 59), Gate::Open),
            ("22:00 local", utc(2026, 5, 17, 5, 0), Gate::OutsideWindow),
        ];
        for (description, now, expected) in cases {
            assert_eq!(check_time_gate(day, la, now, Some(window)), expected, "{description}");
        }
        // A day that is not today is reported as such, whatever the window says.
        assert_eq!(
            check_time_gate(date(2026, 5, 17), la, utc(2026, 5, 16, 12, 0), Some(window)),
            Gate::TooEarly
        );
    }

    #[test]
    fn injection_windows_may_run_over_midnight() {
        let day: InjectionWindow = "06:00-22:00".parse().unwrap();
        let night: InjectionWindow = "22:00-02:00".parse().unwrap();
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(day.contains(at(6, 0)) && day.contains(at(21, 59)));
        assert!(!day.contains(at(22, 0)) && !day.contains(at(5, 59)));
        assert!(night.contains(at(23, 0)) && night.contains(at(1, 59)));
        assert!(!night.contains(at(2, 0)) && !night.contains(at(12, 0)));
    }
}
