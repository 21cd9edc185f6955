//! Offers in the database, the source of truth, and the change feed the
//! search index follows: every write takes the next sequence number.
//!
//! Single rows are read with `get_result`, not `first`: the bound `LIMIT ?`
//! of `first` makes SQLite prepare the statement again on every call.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::model::{Offer, OfferId, OfferStatus};
use crate::db::schema::{offer_feed, offers};
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    /// The same document was already stored: nothing written.
    Unchanged,
}

/// An offer as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = offers)]
pub struct StoredOffer {
    pub id: String,
    pub status: String,
    pub document: String,
    pub sequence: i64,
    /// The sequence of its creation (0 if stored before relais kept it).
    pub first_sequence: i64,
}

impl StoredOffer {
    pub fn status(&self) -> Option<OfferStatus> {
        OfferStatus::parse(&self.status)
    }

    pub fn document(&self) -> Map<String, Value> {
        match serde_json::from_str(&self.document) {
            Ok(Value::Object(document)) => document,
            _ => Map::new(),
        }
    }
}

/// A column the offer does not state is written NULL, in an insert as in an
/// update (a new version that drops a value clears it). Inserts then have
/// one shape, so diesel prepares theirs once instead of building its SQL
/// again for every offer.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = offers, treat_none_as_default_value = false, treat_none_as_null = true)]
struct OfferRow<'a> {
    id: &'a str,
    agency_code: &'a str,
    title: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    contract_type: Option<&'a str>,
    rome_code: Option<&'a str>,
    commune: Option<&'a str>,
    department: Option<&'a str>,
    published: bool,
    with_preselection: bool,
    aided_contract: bool,
    iae: bool,
    document: &'a str,
    sequence: i64,
    received_at: NaiveDateTime,
}

impl<'a> OfferRow<'a> {
    fn of(offer: &'a Offer, document: &'a str, sequence: i64, now: NaiveDateTime) -> Self {
        let facts = &offer.facts;
        OfferRow {
            id: offer.id.as_str(),
            agency_code: &facts.agency_code,
            title: &facts.title,
            created_at: facts.created_at,
            updated_at: facts.updated_at,
            contract_type: facts.contract_type.as_deref(),
            rome_code: facts.rome_code.as_deref(),
            commune: facts.commune.as_deref(),
            department: facts.department.as_deref(),
            published: facts.published,
            with_preselection: facts.with_preselection,
            aided_contract: facts.aided_contract,
            iae: facts.iae,
            document,
            sequence,
            received_at: now,
        }
    }
}

/// Takes the next `count` feed sequences; returns the first. Runs first in
/// a write transaction: on PostgreSQL the row lock it takes orders
/// concurrent writers, so that sequences become visible in order; SQLite
/// has a single writer anyway. A sequence left unused leaves a gap, which
/// the feed's readers pass over.
pub fn take_sequences(conn: &mut DbConnection, count: usize) -> Result<i64, DbError> {
    let count = count as i64;
    diesel::update(offer_feed::table.find(1))
        .set(offer_feed::last_sequence.eq(offer_feed::last_sequence + count))
        .execute(conn)?;
    let last: i64 = offer_feed::table
        .find(1)
        .select(offer_feed::last_sequence)
        .get_result(conn)?;
    Ok(last - count + 1)
}

/// Creates or replaces an offer. A replaced offer keeps its status: only the
/// status endpoint changes it.
pub fn upsert(
    conn: &mut DbConnection,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<Upserted, DbError> {
    conn.transaction(|conn| {
        let sequence = take_sequences(conn, 1)?;
        // One outcome per offer written.
        Ok(write(conn, &[offer], now, sequence)?[0])
    })
}

/// Offers read or inserted per statement: well under the bound parameters
/// SQLite and PostgreSQL accept in one (a row binds eighteen).
const ROWS_PER_STATEMENT: usize = 500;

/// `upsert` for offers in order, within the caller's transaction, with the
/// sequences from `first` on (one each, used or not). Their stored
/// documents are read and the new offers inserted a few hundred at a time:
/// a statement per offer cost more than the writing. An offer given twice
/// is written as its last version.
pub fn write(
    conn: &mut DbConnection,
    batch: &[&Offer],
    now: NaiveDateTime,
    first: i64,
) -> Result<Vec<Upserted>, DbError> {
    let documents: Vec<String> = batch
        .iter()
        .map(|offer| serde_json::to_string(&offer.document))
        .collect::<Result<_, _>>()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let mut found: Vec<(String, String)> = Vec::new();
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let ids: Vec<&str> = chunk.iter().map(|offer| offer.id.as_str()).collect();
        found.extend(
            offers::table
                .filter(offers::id.eq_any(&ids))
                .select((offers::id, offers::document))
                .load::<(String, String)>(conn)?,
        );
    }
    // By offer id, its document as it stands: stored, or written earlier
    // in the batch.
    let mut current: HashMap<&str, &str> = found
        .iter()
        .map(|(id, document)| (id.as_str(), document.as_str()))
        .collect();
    // By offer id, the position in the batch of its row to insert.
    let mut inserting: HashMap<&str, usize> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for (position, (offer, document)) in batch.iter().zip(&documents).enumerate() {
        let id = offer.id.as_str();
        let outcome = match current.get(id) {
            Some(&known) if known == document => Upserted::Unchanged,
            Some(_) => Upserted::Updated,
            None => Upserted::Created,
        };
        outcomes.push(outcome);
        if outcome == Upserted::Unchanged {
            continue;
        }
        current.insert(id, document);
        match inserting.get_mut(id) {
            // Given again before its insert: the later version is inserted.
            Some(earlier) => *earlier = position,
            None if outcome == Upserted::Created => {
                inserting.insert(id, position);
            }
            None => {
                let row = OfferRow::of(offer, document, first + position as i64, now);
                diesel::update(offers::table.find(id))
                    .set(&row)
                    .execute(conn)?;
            }
        }
    }
    let mut positions: Vec<usize> = inserting.into_values().collect();
    positions.sort_unstable();
    let rows: Vec<_> = positions
        .iter()
        .map(|&position| {
            let sequence = first + position as i64;
            let row = OfferRow::of(batch[position], &documents[position], sequence, now);
            (
                row,
                offers::status.eq(OfferStatus::Active.as_str()),
                offers::first_sequence.eq(sequence),
            )
        })
        .collect();
    for rows in rows.chunks(ROWS_PER_STATEMENT) {
        // The connection over both backends has no multi-row insert; each
        // backend's own connection has.
        let insert = diesel::insert_into(offers::table).values(rows);
        match conn {
            DbConnection::Sqlite(conn) => insert.execute(conn)?,
            DbConnection::Postgres(conn) => insert.execute(conn)?,
        };
    }
    Ok(outcomes)
}

/// Sets an offer's status; `false` when the offer is unknown.
pub fn set_status(
    conn: &mut DbConnection,
    id: &OfferId,
    status: OfferStatus,
) -> Result<bool, DbError> {
    change_status(conn, id, status, None)
}

/// Cancels an offer the sync no longer sees upstream, noting when, so that
/// a later run that sees it again puts it back (`restore_reappeared`).
pub fn cancel_vanished(
    conn: &mut DbConnection,
    id: &OfferId,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    change_status(conn, id, OfferStatus::Annulee, Some(now))
}

/// A new status, through the change feed. A status the source sets
/// itself ends any cancellation by the sync.
fn change_status(
    conn: &mut DbConnection,
    id: &OfferId,
    status: OfferStatus,
    vanished_at: Option<NaiveDateTime>,
) -> Result<bool, DbError> {
    conn.transaction(|conn| {
        let sequence = take_sequences(conn, 1)?;
        let updated = diesel::update(offers::table.find(id.as_str()))
            .set((
                offers::status.eq(status.as_str()),
                offers::sequence.eq(sequence),
                offers::vanished_at.eq(vanished_at),
            ))
            .execute(conn)?;
        Ok(updated == 1)
    })
}

pub fn find(conn: &mut DbConnection, id: &OfferId) -> Result<Option<StoredOffer>, DbError> {
    Ok(offers::table
        .find(id.as_str())
        .select(StoredOffer::as_select())
        .get_result(conn)
        .optional()?)
}

/// Offers changed after `sequence`, in feed order.
pub fn changes_since(
    conn: &mut DbConnection,
    sequence: i64,
    limit: i64,
) -> Result<Vec<StoredOffer>, DbError> {
    Ok(offers::table
        .filter(offers::sequence.gt(sequence))
        .order(offers::sequence.asc())
        .limit(limit)
        .select(StoredOffer::as_select())
        .load(conn)?)
}

/// The sequence of the latest committed offer change (0 when none).
pub fn latest_sequence(conn: &mut DbConnection) -> Result<i64, DbError> {
    let latest: Option<i64> = offers::table
        .select(diesel::dsl::max(offers::sequence))
        .get_result(conn)?;
    Ok(latest.unwrap_or(0))
}

pub fn count(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(offers::table.count().get_result(conn)?)
}

/// Notes that sync run `run_id` saw these offers upstream (one statement a page).
pub fn mark_seen_upstream(
    conn: &mut DbConnection,
    ids: &[&str],
    run_id: &str,
) -> Result<usize, DbError> {
    Ok(diesel::update(offers::table.filter(offers::id.eq_any(ids)))
        .set(offers::upstream_run_id.eq(run_id))
        .execute(conn)?)
}

/// Puts back, among `ids` just seen upstream, the offers a sync cancelled
/// because a pass had missed them; returns how many.
pub fn restore_reappeared(conn: &mut DbConnection, ids: &[&str]) -> Result<usize, DbError> {
    let cancelled: Vec<String> = offers::table
        .filter(offers::id.eq_any(ids))
        .filter(offers::vanished_at.is_not_null())
        .filter(offers::status.eq(OfferStatus::Annulee.as_str()))
        .select(offers::id)
        .load(conn)?;
    let mut restored = 0;
    for id in cancelled.iter().filter_map(|id| OfferId::parse(id)) {
        restored += usize::from(set_status(conn, &id, OfferStatus::Active)?);
    }
    Ok(restored)
}

/// Offers an earlier sync run saw upstream that run `run_id` did not, and
/// that are still offered (active or suspended).
pub fn vanished_upstream(conn: &mut DbConnection, run_id: &str) -> Result<Vec<OfferId>, DbError> {
    let ids: Vec<String> = offers::table
        .filter(offers::upstream_run_id.is_not_null())
        .filter(offers::upstream_run_id.ne(run_id))
        .filter(offers::status.eq_any([
            OfferStatus::Active.as_str(),
            OfferStatus::Suspendue.as_str(),
        ]))
        .select(offers::id)
        .load(conn)?;
    Ok(ids.iter().filter_map(|id| OfferId::parse(id)).collect())
}
