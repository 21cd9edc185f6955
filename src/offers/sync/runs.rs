//! The record of sync runs: a row written when a run starts, completed when
//! it ends, listed on the admin's « Synchronisation » page.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::sync_runs;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<RunStatus> {
        [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// As the admin reads it.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "en cours",
            RunStatus::Succeeded => "réussie",
            RunStatus::Failed => "échouée",
        }
    }
}

/// What a run did, as counted while it went.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable,
)]
#[diesel(table_name = sync_runs)]
pub struct Counts {
    pub requests: i64,
    /// Offers received from France Travail.
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Refused by the offer checks (each logged with its fields).
    pub rejected: i64,
    /// In a commune no agency manages: skipped.
    pub out_of_territory: i64,
    /// Gone upstream since the last complete pass: now « annulée ».
    pub cancelled: i64,
    /// Cancelled by an earlier run, seen upstream again: live again.
    pub restored: i64,
}

/// A recorded run.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sync_runs)]
pub struct SyncRun {
    pub id: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub status: String,
    #[diesel(embed)]
    pub counts: Counts,
    pub error: Option<String>,
}

impl SyncRun {
    pub fn status(&self) -> Option<RunStatus> {
        RunStatus::parse(&self.status)
    }
}

/// A run « en cours » without a sign of life for this long was cut short
/// (the process stopped): it writes a page every few seconds, and waits out
/// France Travail's refusals for minutes at most.
pub const STALE_AFTER_MINUTES: i64 = 60;

/// Records a new run, unless another one is under way (the server's timer
/// and a command, or two nodes): `Ok(false)` then. A run « en cours »
/// without a sign of life for `STALE_AFTER_MINUTES` is closed as
/// interrupted first.
pub fn start(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, DbError> {
    let stale = now - chrono::Duration::minutes(STALE_AFTER_MINUTES);
    Ok(conn.transaction(|conn| {
        diesel::update(
            sync_runs::table
                .filter(sync_runs::status.eq(RunStatus::Running.as_str()))
                .filter(
                    sync_runs::alive_at.lt(stale).or(sync_runs::alive_at
                        .is_null()
                        .and(sync_runs::started_at.lt(stale))),
                ),
        )
        .set((
            sync_runs::status.eq(RunStatus::Failed.as_str()),
            sync_runs::finished_at.eq(now),
            sync_runs::error.eq(INTERRUPTED),
        ))
        .execute(conn)?;
        let under_way: i64 = sync_runs::table
            .filter(sync_runs::status.eq(RunStatus::Running.as_str()))
            .count()
            .get_result(conn)?;
        if under_way > 0 {
            return Ok(false);
        }
        diesel::insert_into(sync_runs::table)
            .values((
                sync_runs::id.eq(id),
                sync_runs::started_at.eq(now),
                sync_runs::alive_at.eq(now),
                sync_runs::status.eq(RunStatus::Running.as_str()),
                Counts::default(),
            ))
            .execute(conn)?;
        Ok::<_, diesel::result::Error>(true)
    })?)
}

/// A sign of life of a run under way: `false` when it is no longer under
/// way (closed as interrupted by another run after a long silence), and
/// must stop without cancelling anything.
pub fn alive(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, DbError> {
    let still = diesel::update(
        sync_runs::table
            .find(id)
            .filter(sync_runs::status.eq(RunStatus::Running.as_str())),
    )
    .set(sync_runs::alive_at.eq(now))
    .execute(conn)?;
    Ok(still == 1)
}

const INTERRUPTED: &str =
    "interrompue : le processus s'est arrêté avant la fin ; aucune offre n'a été annulée";

pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    status: RunStatus,
    counts: &Counts,
    error: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(sync_runs::table.find(id))
        .set((
            sync_runs::finished_at.eq(now),
            sync_runs::status.eq(status.as_str()),
            counts,
            sync_runs::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// The latest runs, newest first.
pub fn recent(conn: &mut DbConnection, limit: i64) -> Result<Vec<SyncRun>, DbError> {
    Ok(sync_runs::table
        .order((sync_runs::started_at.desc(), sync_runs::finished_at.desc()))
        .limit(limit)
        .select(SyncRun::as_select())
        .load(conn)?)
}
