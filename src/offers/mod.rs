//! Offers: the model and its checks, the store and change feed, bulk import
//! and the demo data generator.

pub mod demo_data;
pub mod document;
pub mod import;
pub mod model;
pub mod store;
pub mod sync;

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::Connection;
use serde_json::Value;

pub use model::{FieldError, Offer, OfferId, OfferStatus};
pub use store::Upserted;

use crate::db::{DbConnection, DbError};

/// Offers written per transaction by bulk loads: one commit for many offers
/// instead of one each. A commit writes again every page of the id index it
/// touched, and ids land at random places: importing a million offers took
/// 104 s at 500 a commit, 72 s at 5,000. Other writers wait for each
/// commit meanwhile, a few tenths of a second.
pub const INGEST_BATCH: usize = 5000;

/// Hands `items` to `load` `size` at a time (the last batch may be
/// shorter), stopping at the first error: how bulk loads feed `ingest_many`.
pub fn in_batches<T, E>(
    mut items: impl Iterator<Item = Result<T, E>>,
    size: usize,
    mut load: impl FnMut(Vec<T>) -> Result<(), E>,
) -> Result<(), E> {
    loop {
        let batch = items.by_ref().take(size).collect::<Result<Vec<T>, E>>()?;
        if batch.is_empty() {
            return Ok(());
        }
        load(batch)?;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("offre invalide")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// A bulk load's database errors, as `ingest_many` gets them from its
/// transaction.
impl From<diesel::result::Error> for IngestError {
    fn from(error: diesel::result::Error) -> IngestError {
        IngestError::Database(error.into())
    }
}

/// Checks a submitted offer and stores it: the one path for the ingest API,
/// the import command, the demo data and the upstream sync.
pub fn ingest(
    conn: &mut DbConnection,
    agencies: &HashSet<String>,
    document: Value,
    now: NaiveDateTime,
) -> Result<(OfferId, Upserted), IngestError> {
    let offer = Offer::parse(document, agencies).map_err(IngestError::Invalid)?;
    let outcome = store::upsert(conn, &offer, now)?;
    Ok((offer.id, outcome))
}

/// Ingests many offers in one transaction, for bulk loads (at most
/// `INGEST_BATCH` at a time): one commit instead of one per offer. `each`
/// sees every offer's outcome, in order; its error rolls the whole batch back.
pub fn ingest_many<E>(
    conn: &mut DbConnection,
    agencies: &HashSet<String>,
    documents: impl IntoIterator<Item = Value>,
    now: NaiveDateTime,
    mut each: impl FnMut(Result<(OfferId, Upserted), Vec<FieldError>>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<DbError> + From<diesel::result::Error>,
{
    let parsed: Vec<Result<Offer, Vec<FieldError>>> = documents
        .into_iter()
        .map(|document| Offer::parse(document, agencies))
        .collect();
    conn.transaction(|conn| {
        // The batch's sequences in one statement, its valid offers written
        // together; a database error rolls the whole batch back, so offers
        // need no savepoint of their own.
        let first = store::take_sequences(conn, parsed.len())?;
        let valid: Vec<&Offer> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
        let mut written = store::write(conn, &valid, now, first)?.into_iter();
        for outcome in parsed {
            let outcome = match outcome {
                // One outcome per valid offer, in order.
                Ok(offer) => Ok((offer.id, written.next().unwrap_or(Upserted::Unchanged))),
                Err(errors) => Err(errors),
            };
            each(outcome)?;
        }
        Ok(())
    })
}
