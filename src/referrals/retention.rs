//! A candidate's personal data is kept only as long as needed: until
//! `referrals.retention_months` (six by default) after the last request
//! made for them, by any partner. Then every record of theirs loses the
//! person — names, France Travail identifier, contact details — and keeps
//! the rest (offer, agency, coach, dates, answer), so that the activity
//! counts survive. Audit rows name no candidate, so they stay as they are.

use std::collections::HashSet;

use chrono::{Months, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Action, Event};
use crate::config::ReferralSettings;
use crate::db::schema::referrals;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// People whose data was erased.
    pub candidates: usize,
    /// Their records, now anonymous.
    pub records: usize,
}

/// Records changed by one statement: bound parameters are limited (SQLite
/// allows 32,766 a statement, PostgreSQL 65,535).
const RECORDS_A_STATEMENT: usize = 500;

/// Erases the data of every candidate whose last request is older than the
/// retention period; one transaction, so a crash erases all or nothing.
pub fn anonymise_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    settings: &ReferralSettings,
) -> Result<Report, DbError> {
    let Some(last_kept) = now.checked_sub_months(Months::new(settings.retention_months.get()))
    else {
        return Ok(Report::default());
    };
    // A person is known by their France Travail identifier: their records
    // go once none of them is recent, checked again by the update itself
    // in case a coach puts them forward meanwhile.
    let newer = diesel::alias!(referrals as newer);
    let expired = referrals::table
        .filter(referrals::anonymised_at.is_null())
        .filter(not(exists(
            newer
                .filter(
                    newer
                        .field(referrals::candidate_identifier)
                        .eq(referrals::candidate_identifier),
                )
                .filter(newer.field(referrals::created_at).ge(last_kept)),
        )));
    conn.transaction(|conn| {
        let mut records: Vec<(String, String, String)> = expired
            .select((
                referrals::id,
                referrals::partner_id,
                referrals::candidate_identifier,
            ))
            .load(conn)?;
        let candidates: HashSet<&str> =
            records.iter().map(|(.., person)| person.as_str()).collect();
        let candidates = candidates.len();
        // By partner, so that each partner's journal says how many of its
        // records were emptied; a record another node emptied meanwhile is
        // not counted again.
        records.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        let mut emptied = 0;
        for partner in records.chunk_by(|a, b| a.1 == b.1) {
            let mut count = 0;
            for chunk in partner.chunks(RECORDS_A_STATEMENT) {
                let ids = chunk.iter().map(|(id, ..)| id);
                count += diesel::update(expired.filter(referrals::id.eq_any(ids)))
                    .set((
                        referrals::candidate_last_name.eq(""),
                        referrals::candidate_first_name.eq(""),
                        // Unique with the offer: the record's own id stands in.
                        referrals::candidate_identifier.eq(referrals::id),
                        referrals::candidate_email.eq(None::<String>),
                        referrals::candidate_phone.eq(None::<String>),
                        referrals::anonymised_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            if count == 0 {
                continue;
            }
            emptied += count;
            audit::record(
                conn,
                now,
                Event {
                    actor: None,
                    partner: Some(&partner[0].1),
                    action: Action::CandidatesAnonymised,
                    object_type: "referral",
                    object_id: None,
                    address: None,
                    details: json!({
                        "records": count,
                        "retention_months": settings.retention_months.get(),
                    }),
                },
            )?;
        }
        Ok(Report {
            candidates,
            records: emptied,
        })
    })
}
