//! Time, injected: rules such as "idle for more than three months" are
//! tested by moving a clock forward, not by waiting.

use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

/// An instant as people read it: relais records UTC and shows Paris time.
pub fn in_paris(at: NaiveDateTime) -> NaiveDateTime {
    Paris.from_utc_datetime(&at).naive_local()
}

/// A day as a form gives it: 2026-12-05 from a date field, 05/12/2026 as
/// people write it where the browser shows a plain text field.
pub fn parse_day(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%d/%m/%Y"))
        .ok()
}

/// How `<input type="datetime-local">` sends a moment.
pub const INPUT_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// A day and a time as a form gives them: 2026-12-10T20:00 from a
/// date-and-time field, 10/12/2026 20:00 as people write it where the
/// browser shows a plain text field.
pub fn parse_moment(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    NaiveDateTime::parse_from_str(raw, INPUT_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%d/%m/%Y %H:%M"))
        .ok()
}

/// The first instant (UTC) of a day in Paris: midnight, which clock changes
/// never skip there.
pub fn day_start_in_paris(day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_time(NaiveTime::MIN);
    from_paris(midnight).unwrap_or(midnight)
}

/// A Paris wall-clock time as an instant (UTC): none for the hour skipped
/// when clocks go forward, the first of the hour repeated when they go back.
pub fn from_paris(local: NaiveDateTime) -> Option<NaiveDateTime> {
    Paris
        .from_local_datetime(&local)
        .earliest()
        .map(|at| at.naive_utc())
}

pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> NaiveDateTime;
}

/// The real time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        Utc::now().naive_utc()
    }
}

/// A clock that only moves when told to.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<NaiveDateTime>>);

impl ManualClock {
    pub fn starting_at(now: NaiveDateTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(now)))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> NaiveDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_both_ways_and_start_at_midnight_in_paris() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 5);
        assert_eq!(parse_day("2026-12-05"), day);
        assert_eq!(parse_day(" 05/12/2026 "), day);
        assert_eq!(parse_day("5 décembre"), None);
        let start = day_start_in_paris(day.unwrap());
        assert_eq!(start.to_string(), "2026-12-04 23:00:00", "UTC+1 in winter");
        let evening = day.and_then(|d| d.and_hms_opt(20, 0, 0));
        assert_eq!(parse_moment("2026-12-05T20:00"), evening);
        assert_eq!(parse_moment(" 05/12/2026 20:00 "), evening);
        assert_eq!(parse_moment("05/12/2026"), None);
    }
}
