//! Creation-date windows: France Travail serves at most the first 3,150
//! results of a query (start index ≤ 3000, pages of 150), so a scope larger
//! than that is read as several queries on `minCreationDate` /
//! `maxCreationDate`, halving the interval until each part fits.

use chrono::{DateTime, NaiveDateTime, TimeDelta};

// The limits of `offres/search`, which relais's own search API keeps too.
pub use crate::search::params::{MAX_PAGE as PAGE_SIZE, MAX_START};

/// Most results one query can be read to.
pub const READABLE: usize = MAX_START + PAGE_SIZE;

/// A creation-date interval, both ends included, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl Window {
    /// Everything from the first offers France Travail could still hold up
    /// to a day past `now`: an offer dated ahead of our clock (the two
    /// clocks differ) is read all the same, never taken for gone.
    pub fn everything_until(now: NaiveDateTime) -> Window {
        let from = DateTime::from_timestamp(OLDEST_OFFER_SECS, 0)
            .map(|d| d.naive_utc())
            .unwrap_or(now);
        Window {
            from,
            to: truncate_to_second(now) + CLOCK_MARGIN,
        }
    }

    /// Two halves that do not overlap, `[from, mid]` and `[mid + 1 s, to]`;
    /// `None` for a one-second window, which cannot be split.
    pub fn split(self) -> Option<(Window, Window)> {
        let seconds = (self.to - self.from).num_seconds();
        if seconds < 1 {
            return None;
        }
        let mid = self.from + TimeDelta::seconds(seconds / 2);
        Some((
            Window {
                from: self.from,
                to: mid,
            },
            Window {
                from: mid + TimeDelta::seconds(1),
                to: self.to,
            },
        ))
    }

    /// `minCreationDate` and `maxCreationDate` as France Travail reads them.
    pub fn bounds(&self) -> (String, String) {
        let format = |d: NaiveDateTime| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        (format(self.from), format(self.to))
    }
}

const CLOCK_MARGIN: TimeDelta = TimeDelta::days(1);
/// 2000-01-01: no live offer is older than this.
const OLDEST_OFFER_SECS: i64 = 946_684_800;

fn truncate_to_second(at: NaiveDateTime) -> NaiveDateTime {
    DateTime::from_timestamp(at.and_utc().timestamp(), 0)
        .map(|d| d.naive_utc())
        .unwrap_or(at)
}

/// The `range` of each page needed to read `total` results (`total` ≤ READABLE).
pub fn pages(total: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..total.min(READABLE))
        .step_by(PAGE_SIZE)
        .map(move |start| (start, (start + PAGE_SIZE).min(total) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .unwrap()
    }

    #[test]
    fn halves_cover_the_window_without_overlap() {
        let window = Window {
            from: at(1, 0, 0, 0),
            to: at(3, 0, 0, 0),
        };
        let (left, right) = window.split().unwrap();
        assert_eq!(left.from, window.from);
        assert_eq!(left.to, at(2, 0, 0, 0));
        assert_eq!(right.from, at(2, 0, 0, 1));
        assert_eq!(right.to, window.to);
    }

    #[test]
    fn splitting_ends_at_one_second() {
        let two = Window {
            from: at(1, 0, 0, 0),
            to: at(1, 0, 0, 1),
        };
        let (left, right) = two.split().unwrap();
        assert_eq!((left.from, left.to), (two.from, two.from));
        assert_eq!((right.from, right.to), (two.to, two.to));
        assert_eq!(left.split(), None);
    }

    #[test]
    fn repeated_halving_keeps_every_second_exactly_once() {
        let mut windows = vec![Window {
            from: at(1, 0, 0, 0),
            to: at(1, 0, 0, 10),
        }];
        let mut seconds = Vec::new();
        while let Some(window) = windows.pop() {
            match window.split() {
                Some((left, right)) => windows.extend([right, left]),
                None => seconds.push(window.from),
            }
        }
        let expected: Vec<_> = (0..=10).map(|s| at(1, 0, 0, s)).collect();
        assert_eq!(seconds, expected);
    }

    #[test]
    fn bounds_are_iso_seconds_in_utc() {
        let window = Window {
            from: at(1, 8, 0, 0),
            to: at(2, 9, 30, 15),
        };
        assert_eq!(
            window.bounds(),
            (
                "2026-11-01T08:00:00Z".to_owned(),
                "2026-11-02T09:30:15Z".to_owned()
            )
        );
    }

    #[test]
    fn pages_stay_within_the_documented_ranges() {
        assert_eq!(pages(0).count(), 0);
        assert_eq!(pages(1).collect::<Vec<_>>(), [(0, 0)]);
        assert_eq!(pages(150).collect::<Vec<_>>(), [(0, 149)]);
        assert_eq!(pages(151).collect::<Vec<_>>(), [(0, 149), (150, 150)]);
        let all: Vec<_> = pages(READABLE).collect();
        assert_eq!(all.len(), 21);
        assert_eq!(all.last(), Some(&(3000, 3149)));
    }
}
