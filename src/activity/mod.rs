//! Activity follow-up: what each partner's accounts did, month by month —
//! logins, searches, mises en relation, contact requests and the agencies'
//! answers — for the RGC (its partner, per account and per agency) and the
//! platform admin (per partner).
//!
//! Counts are read from the records themselves: logins from the audit
//! trail, requests and answers from the referrals (which keep them after
//! their candidate is anonymised). Searches leave nothing else behind, so
//! each one the search page runs is counted in `searches`: who and when,
//! never what was looked for.

mod period;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

pub use self::period::{MAX_MONTHS, Month, Period};
use crate::audit::Action;
use crate::db::schema::{audit, referrals, searches};
use crate::db::{DbConnection, DbError};
use crate::referrals::{Answer, Kind};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Logins,
    Searches,
    Referrals,
    ContactRequests,
    Answers,
    /// Answers calling the candidate for an interview: the placements in
    /// the making.
    Invitations,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Logins,
        Measure::Searches,
        Measure::Referrals,
        Measure::ContactRequests,
        Measure::Answers,
        Measure::Invitations,
    ];

    /// What an agency is answerable for: what was asked of it.
    pub const OF_AGENCIES: [Measure; 4] = [
        Measure::Referrals,
        Measure::ContactRequests,
        Measure::Answers,
        Measure::Invitations,
    ];

    /// In French, for pages and exports.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Logins => "Connexions",
            Measure::Searches => "Recherches",
            Measure::Referrals => "Mises en relation",
            Measure::ContactRequests => "Demandes de contact",
            Measure::Answers => "Réponses des agences",
            Measure::Invitations => "dont candidats convoqués",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One figure per measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; Measure::ALL.len()]);

impl Counts {
    pub fn get(&self, measure: Measure) -> u64 {
        self.0[measure.slot()]
    }

    fn add(&mut self, measure: Measure, count: u64) {
        self.0[measure.slot()] += count;
    }

    fn merge(&mut self, other: &Counts) {
        for measure in Measure::ALL {
            self.add(measure, other.get(measure));
        }
    }
}

/// So many of a measure, by one account in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub month: Month,
    pub partner: String,
    pub account: String,
    /// The agency managing the offer, for requests and answers.
    pub agency: Option<String>,
    pub measure: Measure,
    pub count: u64,
}

/// A request as counted: when (made or answered), partner, coach, agency,
/// and its kind or answer.
type Referral = (NaiveDateTime, String, String, String, String);

/// Counts one search by a partner's account (an admin's are not a
/// partner's activity).
pub fn record_search(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    partner: &str,
    account: &str,
) -> Result<(), DbError> {
    diesel::insert_into(searches::table)
        .values((
            searches::id.eq(uuid::Uuid::new_v4().to_string()),
            searches::at.eq(at),
            searches::month.eq(Month::of(at).to_string()),
            searches::partner_id.eq(partner),
            searches::user_id.eq(account),
        ))
        .execute(conn)?;
    Ok(())
}

/// Everything counted in the period, for one partner or for all.
pub fn facts(
    conn: &mut DbConnection,
    period: Period,
    partner: Option<&str>,
) -> Result<Vec<Fact>, DbError> {
    let (start, end) = (period.start(), period.end());
    let mut facts = Vec::new();
    let fact = |at: NaiveDateTime, partner: String, account: String, agency, measure| Fact {
        month: Month::of(at),
        partner,
        account,
        agency,
        measure,
        count: 1,
    };

    let mut logins = audit::table
        .filter(audit::action.eq(Action::LoginSucceeded.as_str()))
        .filter(audit::at.ge(start).and(audit::at.lt(end)))
        .into_boxed();
    if let Some(partner) = partner {
        logins = logins.filter(audit::partner_id.eq(partner));
    }
    let logins: Vec<(NaiveDateTime, Option<String>, Option<String>)> = logins
        .select((audit::at, audit::partner_id, audit::actor_id))
        .load(conn)?;
    facts.extend(logins.into_iter().filter_map(|(at, partner, account)| {
        Some(fact(at, partner?, account?, None, Measure::Logins))
    }));

    let (first, last) = (period.first.to_string(), period.last.to_string());
    let mut searched = searches::table
        .group_by((searches::month, searches::partner_id, searches::user_id))
        .select((
            searches::month,
            searches::partner_id,
            searches::user_id,
            count_star(),
        ))
        .filter(searches::month.ge(&first).and(searches::month.le(&last)))
        .into_boxed();
    if let Some(partner) = partner {
        searched = searched.filter(searches::partner_id.eq(partner));
    }
    let searched: Vec<(String, String, String, i64)> = searched.load(conn)?;
    facts.extend(
        searched
            .into_iter()
            .filter_map(|(month, partner, account, count)| {
                Some(Fact {
                    month: Month::parse(&month)?,
                    partner,
                    account,
                    agency: None,
                    measure: Measure::Searches,
                    count: count.try_into().unwrap_or(0),
                })
            }),
    );

    let mut requested = referrals::table
        .filter(referrals::created_at.ge(start))
        .filter(referrals::created_at.lt(end))
        .into_boxed();
    if let Some(partner) = partner {
        requested = requested.filter(referrals::partner_id.eq(partner));
    }
    let requested: Vec<Referral> = requested
        .select((
            referrals::created_at,
            referrals::partner_id,
            referrals::coach_id,
            referrals::agency_code,
            referrals::kind,
        ))
        .load(conn)?;
    facts.extend(
        requested
            .into_iter()
            .filter_map(|(at, partner, coach, agency, kind)| {
                let measure = match Kind::parse(&kind)? {
                    Kind::MiseEnRelation => Measure::Referrals,
                    Kind::DemandeContact => Measure::ContactRequests,
                };
                Some(fact(at, partner, coach, Some(agency), measure))
            }),
    );

    // An answer counts in the month it was given, for the coach who asked.
    let mut answered = referrals::table
        .filter(referrals::answered_at.ge(start))
        .filter(referrals::answered_at.lt(end))
        .filter(referrals::answer.is_not_null())
        .into_boxed();
    if let Some(partner) = partner {
        answered = answered.filter(referrals::partner_id.eq(partner));
    }
    let answered: Vec<Referral> = answered
        .select((
            referrals::answered_at.assume_not_null(),
            referrals::partner_id,
            referrals::coach_id,
            referrals::agency_code,
            referrals::answer.assume_not_null(),
        ))
        .load(conn)?;
    for (at, partner, coach, agency, answer) in answered {
        if Answer::parse(&answer) == Some(Answer::Invited) {
            facts.push(fact(
                at,
                partner.clone(),
                coach.clone(),
                Some(agency.clone()),
                Measure::Invitations,
            ));
        }
        facts.push(fact(at, partner, coach, Some(agency), Measure::Answers));
    }
    Ok(facts)
}

/// The facts summed by month and by what `key` says they belong to; facts
/// it gives no key (an agency's view of logins) are left out.
pub fn tally<K: Ord>(
    facts: &[Fact],
    key: impl Fn(&Fact) -> Option<K>,
) -> BTreeMap<(K, Month), Counts> {
    let mut tally: BTreeMap<(K, Month), Counts> = BTreeMap::new();
    for fact in facts {
        if let Some(key) = key(fact) {
            tally
                .entry((key, fact.month))
                .or_default()
                .add(fact.measure, fact.count);
        }
    }
    tally
}

/// Every month of the period with its counts, empty months included, and
/// the total.
pub fn monthly(facts: &[Fact], period: Period) -> (Vec<(Month, Counts)>, Counts) {
    let by_month = tally(facts, |_| Some(()));
    let mut total = Counts::default();
    let months = period
        .months()
        .into_iter()
        .map(|month| {
            let counts = by_month.get(&((), month)).copied().unwrap_or_default();
            total.merge(&counts);
            (month, counts)
        })
        .collect();
    (months, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(month: &str, account: &str, agency: Option<&str>, measure: Measure) -> Fact {
        Fact {
            month: Month::parse(month).expect("a month"),
            partner: "plie".to_owned(),
            account: account.to_owned(),
            agency: agency.map(str::to_owned),
            measure,
            count: 2,
        }
    }

    #[test]
    fn facts_are_summed_by_key_and_month() {
        let facts = [
            fact("2026-01", "awa", None, Measure::Searches),
            fact("2026-01", "awa", Some("13013"), Measure::Referrals),
            fact("2026-01", "awa", Some("13013"), Measure::Referrals),
            fact("2026-02", "awa", Some("13181"), Measure::Answers),
            fact("2026-01", "paul", None, Measure::Logins),
        ];
        let by_agency = tally(&facts, |f| f.agency.clone());
        assert_eq!(
            by_agency.len(),
            2,
            "logins and searches belong to no agency"
        );
        let january = Month::parse("2026-01").expect("a month");
        let aix = by_agency[&("13013".to_owned(), january)];
        assert_eq!(aix.get(Measure::Referrals), 4);
        assert_eq!(aix.get(Measure::Searches), 0);
        let by_account = tally(&facts, |f| Some(f.account.clone()));
        assert_eq!(
            by_account[&("awa".to_owned(), january)].get(Measure::Searches),
            2
        );
        assert_eq!(
            by_account[&("paul".to_owned(), january)].get(Measure::Logins),
            2
        );
    }

    #[test]
    fn every_month_of_the_period_is_listed_with_the_total() {
        let facts = [
            fact("2026-01", "awa", None, Measure::Searches),
            fact("2026-03", "awa", None, Measure::Searches),
        ];
        let now = Month::parse("2026-03").expect("a month").start();
        let period = Period::asked(Some("2025-12"), None, now).expect("a period");
        let (months, total) = monthly(&facts, period);
        let searches: Vec<u64> = months
            .iter()
            .map(|(_, c)| c.get(Measure::Searches))
            .collect();
        assert_eq!(searches, [0, 2, 0, 2]);
        assert_eq!(total.get(Measure::Searches), 4);
        assert_eq!(total.get(Measure::Logins), 0);
    }
}
