//! Time, injected: rules such as "idle for more than three months" are
//! tested by moving a clock forward, not by waiting.

use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

/// An instant as people read it: relais records UTC and shows Paris time.
pub fn in_paris(at: NaiveDateTime) -> NaiveDateTime {
    Paris.from_utc_datetime(&at).naive_local()
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
