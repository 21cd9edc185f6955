//! Calendar months and the span of months a follow-up covers.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::clock::{day_start_in_paris, in_paris};
use crate::text::digits;

/// How many months a follow-up shows when none are asked for: a year,
/// current month included.
const DEFAULT_MONTHS: u32 = 12;
/// The longest span shown at once: three years of a partnership agreement.
pub const MAX_MONTHS: u32 = 36;

const MONTH_NAMES: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

/// A calendar month, in Paris time as people count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    /// 1 to 12.
    number: u32,
}

impl Month {
    /// The month an instant (UTC, as relais records them) falls in.
    pub fn of(at: NaiveDateTime) -> Month {
        let local = in_paris(at);
        Month {
            year: local.year(),
            number: local.month(),
        }
    }

    /// « 2026-11 », as browsers send it, or « 11/2026 », as people write
    /// it where a browser shows a plain text box.
    pub fn parse(raw: &str) -> Option<Month> {
        let raw = raw.trim();
        let (year, number) = match raw.split_once('/') {
            Some((number, year)) => (year, number),
            None => raw.split_once('-')?,
        };
        let (year, number) = (digits(year)?, digits(number)?);
        NaiveDate::from_ymd_opt(year, number, 1)?;
        (1000..=9999)
            .contains(&year)
            .then_some(Month { year, number })
    }

    /// Its first instant (UTC): midnight in Paris on the 1st.
    pub fn start(self) -> NaiveDateTime {
        day_start_in_paris(
            NaiveDate::from_ymd_opt(self.year, self.number, 1).unwrap_or(NaiveDate::MIN),
        )
    }

    pub fn next(self) -> Month {
        self.plus(1)
    }

    fn back(self, months: u32) -> Month {
        self.plus(-(months as i32))
    }

    /// So many months later (earlier when negative), across years.
    fn plus(self, months: i32) -> Month {
        let index = self.year * 12 + self.number as i32 - 1 + months;
        Month {
            year: index.div_euclid(12),
            number: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// « déc. 2026 », for pages.
    pub fn label(self) -> String {
        format!("{} {}", MONTH_NAMES[self.number as usize - 1], self.year)
    }
}

/// `2026-12`: how months are stored and exported.
impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.number)
    }
}

/// From a first month to a last one, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: Month,
    pub last: Month,
}

impl Period {
    /// The months asked for (`du`, `au`, either may be missing), or a French
    /// message saying what to correct. By default, the year up to `now`.
    pub fn asked(
        from: Option<&str>,
        to: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Period, String> {
        let month = |raw: Option<&str>, what: &str| match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => Month::parse(raw).map(Some).ok_or_else(|| {
                format!("Le mois « {what} » est attendu au format aaaa-mm, par exemple 2026-01.")
            }),
        };
        let (from, to) = (month(from, "du")?, month(to, "au")?);
        let last = to.unwrap_or_else(|| Month::of(now));
        let first = from.unwrap_or_else(|| last.back(DEFAULT_MONTHS - 1));
        if first > last {
            return Err("Le mois « du » doit précéder le mois « au » ou lui être égal.".to_owned());
        }
        let period = Period { first, last };
        if period.months().len() > MAX_MONTHS as usize {
            return Err(format!(
                "Le suivi montre {MAX_MONTHS} mois au plus : resserrez la période."
            ));
        }
        Ok(period)
    }

    /// Every month of the period, in order.
    pub fn months(self) -> Vec<Month> {
        let mut months = vec![self.first];
        while let Some(&month) = months.last().filter(|&&m| m < self.last) {
            months.push(month.next());
        }
        months
    }

    /// Its first instant.
    pub fn start(self) -> NaiveDateTime {
        self.first.start()
    }

    /// The first instant after it.
    pub fn end(self) -> NaiveDateTime {
        self.last.next().start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").expect("a date")
    }

    fn month(raw: &str) -> Month {
        Month::parse(raw).expect("a month")
    }

    #[test]
    fn months_read_and_print_as_inputs_send_them() {
        assert_eq!(month("2026-01").to_string(), "2026-01");
        assert_eq!(month(" 2026-12 ").label(), "déc. 2026");
        assert_eq!(month("11/2026"), month("2026-11"));
        assert_eq!(month("1/2027"), month("2027-01"));
        for wrong in [
            "2026-13", "2026-00", "2026", "26-01", "janvier", "2026-1-1", "", "13/2026", "2026/11",
            "2026-+11", "+11/2026",
        ] {
            assert_eq!(Month::parse(wrong), None, "{wrong}");
        }
        // 23:30 UTC on the last day of February is March already in Paris.
        assert_eq!(Month::of(at("2026-02-28 22:59")), month("2026-02"));
        assert_eq!(Month::of(at("2026-02-28 23:30")), month("2026-03"));
    }

    #[test]
    fn a_month_follows_and_precedes_across_years() {
        assert_eq!(month("2026-12").next(), month("2027-01"));
        assert_eq!(month("2026-03").back(3), month("2025-12"));
        assert_eq!(month("2026-03").back(0), month("2026-03"));
        assert_eq!(
            month("2027-01").start(),
            at("2026-12-31 23:00"),
            "winter: UTC+1"
        );
        assert_eq!(
            month("2026-07").start(),
            at("2026-06-30 22:00"),
            "summer: UTC+2"
        );
    }

    #[test]
    fn by_default_the_period_is_the_year_up_to_now() {
        let period = Period::asked(None, Some(""), at("2026-12-05 10:00")).expect("a period");
        assert_eq!(
            (period.first, period.last),
            (month("2026-01"), month("2026-12"))
        );
        assert_eq!(period.months().len(), 12);
        assert_eq!(period.start(), at("2025-12-31 23:00"));
        assert_eq!(period.end(), at("2026-12-31 23:00"));
    }

    #[test]
    fn the_period_asked_is_checked() {
        let now = at("2026-12-05 10:00");
        let period = Period::asked(Some("2025-11"), Some("2026-02"), now).expect("a period");
        let months: Vec<String> = period.months().iter().map(Month::to_string).collect();
        assert_eq!(months, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        let refused = [
            (Some("2026-13"), None, "« du »"),
            (None, Some("décembre"), "« au »"),
            (Some("2026-05"), Some("2026-04"), "précéder"),
            (Some("2020-01"), Some("2026-12"), "36 mois au plus"),
        ];
        for (from, to, expected) in refused {
            let message = Period::asked(from, to, now).expect_err("refused");
            assert!(message.contains(expected), "{message}");
        }
        assert!(Period::asked(Some("2024-01"), Some("2026-12"), now).is_ok());
    }
}
