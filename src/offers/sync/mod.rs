//! The upstream sync: reads the configured scope of France Travail's
//! "Offres d'emploi v2" search, gives each offer its managing agency, and
//! writes it through `offers::ingest`, like the API does. After a complete
//! pass, offers it saw before and no longer sees become « annulée ». Every
//! run is recorded; a failed run cancels nothing and leaves what earlier
//! runs wrote as it was.

pub mod agency_rule;
pub mod runs;
pub mod upstream;
pub mod windows;

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::Connection;
use serde_json::Value;

use self::agency_rule::AgencyRule;
use self::runs::{Counts, RunStatus};
use self::upstream::{Page, Query, Upstream};
use self::windows::{READABLE, Window};
use super::{Upserted, ingest_many, store};
use crate::agencies;
use crate::clock::Clock;
use crate::config::SyncSettings;
use crate::db::{DbConnection, DbError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "la synchronisation avec France Travail n'est pas configurée : renseignez sync.client_id \
         et sync.client_secret (par exemple RELAIS__SYNC__CLIENT_SECRET)"
    )]
    NotConfigured,
    #[error("configuration de la synchronisation : {0}")]
    Config(String),
    #[error("jeton refusé par France Travail : {0}")]
    Token(String),
    #[error("France Travail refuse la recherche ({status}) : {message}")]
    Refused { status: u16, message: String },
    #[error("France Travail n'a pas répondu après {attempts} tentatives : {last}")]
    GaveUp { attempts: u32, last: String },
    #[error("réponse de France Travail illisible : {0}")]
    Response(String),
    #[error(
        "plus de {READABLE} offres créées entre {from} et {to} : la fenêtre ne peut plus être \
         divisée, des offres n'ont pas été lues"
    )]
    WindowTooFull { from: String, to: String },
    #[error(
        "une synchronisation est déjà en cours (lancée par le serveur, une commande ou un autre \
         nœud) : celle-ci n'est pas lancée"
    )]
    AlreadyRunning,
    #[error(
        "restée trop longtemps sans signe de vie, elle a été close et une autre synchronisation \
         a pris la relève : celle-ci s'arrête sans rien annuler"
    )]
    Superseded,
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Where a run is, for a progress bar: pages read out of the pages known so
/// far (the count grows as windows are discovered).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub pages_done: u64,
    pub pages_known: u64,
}

/// What a run did and how it ended.
#[derive(Debug)]
pub struct SyncReport {
    pub run_id: String,
    pub status: RunStatus,
    pub counts: Counts,
    pub error: Option<String>,
}

impl SyncReport {
    /// One French paragraph for the operator.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let mut summary = format!(
            "Synchronisation {} : {} requête(s), {} offre(s) reçue(s), {} créée(s), \
             {} mise(s) à jour, {} inchangée(s), {} rejetée(s), {} hors territoire, \
             {} annulée(s), {} rétablie(s).",
            self.status.label(),
            c.requests,
            c.fetched,
            c.created,
            c.updated,
            c.unchanged,
            c.rejected,
            c.out_of_territory,
            c.cancelled,
            c.restored
        );
        if let Some(error) = &self.error {
            summary.push_str(&format!(
                "\nErreur : {error}\nAucune offre n'a été annulée ; les données précédentes restent en place."
            ));
        }
        summary
    }
}

/// Runs one sync now and records it. `Err` only when no run could start
/// (not configured, bad rule, database); a run that fails is an `Ok` report
/// with status `Failed`.
pub fn run(
    conn: &mut DbConnection,
    settings: &SyncSettings,
    clock: &dyn Clock,
    progress: &dyn Fn(Progress),
) -> Result<SyncReport, SyncError> {
    if !settings.is_configured() {
        return Err(SyncError::NotConfigured);
    }
    let known: HashSet<String> = agencies::list(conn)?.into_iter().map(|a| a.code).collect();
    let rule = AgencyRule::parse(&settings.agencies, &known).map_err(SyncError::Config)?;
    let upstream = Upstream::new(settings)?;
    let run_id = uuid::Uuid::new_v4().to_string();
    if !runs::start(conn, &run_id, clock.now())? {
        return Err(SyncError::AlreadyRunning);
    }
    tracing::info!(run_id, "upstream sync started");

    let mut pass = Pass {
        conn,
        upstream,
        rule: &rule,
        agencies: &known,
        departements: &settings.departements,
        run_id: &run_id,
        clock,
        progress,
        counts: Counts::default(),
        pages: Progress {
            pages_done: 0,
            pages_known: 0,
        },
    };
    let outcome = pass.read_everything().and_then(|()| pass.cancel_vanished());
    let mut counts = pass.counts;
    counts.requests = i64::try_from(pass.upstream.requests).unwrap_or(i64::MAX);
    let (status, error) = match &outcome {
        Ok(()) => (RunStatus::Succeeded, None),
        Err(error) => (RunStatus::Failed, Some(error.to_string())),
    };
    runs::finish(
        pass.conn,
        &run_id,
        clock.now(),
        status,
        &counts,
        error.as_deref(),
    )?;
    match &outcome {
        Ok(()) => tracing::info!(
            run_id,
            requests = counts.requests,
            fetched = counts.fetched,
            created = counts.created,
            updated = counts.updated,
            rejected = counts.rejected,
            out_of_territory = counts.out_of_territory,
            cancelled = counts.cancelled,
            "upstream sync succeeded"
        ),
        Err(error) => tracing::error!(run_id, %error, "upstream sync failed; nothing cancelled"),
    }
    Ok(SyncReport {
        run_id,
        status,
        counts,
        error,
    })
}

/// One run's reading of the scope.
struct Pass<'a> {
    conn: &'a mut DbConnection,
    upstream: Upstream,
    rule: &'a AgencyRule,
    agencies: &'a HashSet<String>,
    departements: &'a [String],
    run_id: &'a str,
    clock: &'a dyn Clock,
    progress: &'a dyn Fn(Progress),
    counts: Counts,
    pages: Progress,
}

impl Pass<'_> {
    /// Every window of the scope, split until each can be read whole.
    /// A window too full to split stops the run as incomplete.
    fn read_everything(&mut self) -> Result<(), SyncError> {
        let mut windows = vec![Window::everything_until(self.clock.now())];
        while let Some(window) = windows.pop() {
            let first = self.fetch(window, (0, windows::PAGE_SIZE - 1))?;
            if first.total > READABLE {
                let Some((older, newer)) = window.split() else {
                    let (from, to) = window.bounds();
                    return Err(SyncError::WindowTooFull { from, to });
                };
                windows.extend([newer, older]);
                continue;
            }
            let rest: Vec<(usize, usize)> = windows::pages(first.total).skip(1).collect();
            self.pages.pages_known += 1 + rest.len() as u64;
            self.write(first)?;
            for range in rest {
                let page = self.fetch(window, range)?;
                self.write(page)?;
            }
        }
        Ok(())
    }

    fn fetch(&mut self, window: Window, range: (usize, usize)) -> Result<Page, SyncError> {
        self.upstream.search(&Query {
            departements: self.departements,
            window,
            range,
        })
    }

    /// Tells other runs this one goes on, unless one has taken over.
    fn still_alive(&mut self, now: NaiveDateTime) -> Result<(), SyncError> {
        match runs::alive(self.conn, self.run_id, now)? {
            true => Ok(()),
            false => Err(SyncError::Superseded),
        }
    }

    /// Ingests a page in one transaction and notes the offers as seen.
    fn write(&mut self, page: Page) -> Result<(), SyncError> {
        let now = self.clock.now();
        self.still_alive(now)?;
        let (rule, agencies, run_id) = (self.rule, self.agencies, self.run_id);
        let counts = &mut self.counts;
        self.conn.transaction(|conn| {
            counts.fetched += page.offers.len() as i64;
            let in_territory: Vec<Value> = page
                .offers
                .into_iter()
                .filter_map(|document| {
                    let with_agency = rule.with_agency(document);
                    counts.out_of_territory += i64::from(with_agency.is_none());
                    with_agency
                })
                .collect();
            // Every offer upstream still lists is seen, those our checks
            // reject included: their last accepted version stays searchable
            // rather than being cancelled as gone at the end of the run.
            let listed: Vec<String> = in_territory
                .iter()
                .filter_map(|document| document.get("id")?.as_str().map(str::to_owned))
                .collect();
            let mut accepted = Vec::with_capacity(in_territory.len());
            ingest_many(conn, agencies, in_territory, now, |outcome| {
                match outcome {
                    Ok((id, upserted)) => {
                        match upserted {
                            Upserted::Created => counts.created += 1,
                            Upserted::Updated => counts.updated += 1,
                            Upserted::Unchanged => counts.unchanged += 1,
                        }
                        accepted.push(id);
                    }
                    Err(errors) => {
                        counts.rejected += 1;
                        let fields: Vec<&str> = errors.iter().map(|e| e.champ.as_str()).collect();
                        tracing::warn!(run_id, ?fields, "upstream offer rejected");
                    }
                }
                Ok::<_, DbError>(())
            })?;
            let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
            store::mark_seen_upstream(conn, &listed, run_id)?;
            let accepted: Vec<&str> = accepted.iter().map(|id| id.as_str()).collect();
            counts.restored += store::restore_reappeared(conn, &accepted)? as i64;
            Ok::<_, DbError>(())
        })?;
        self.pages.pages_done += 1;
        (self.progress)(self.pages);
        Ok(())
    }

    /// After a complete pass: what earlier runs saw and this one did not
    /// has gone upstream. Through the status path, so search drops it at once.
    fn cancel_vanished(&mut self) -> Result<(), SyncError> {
        let now = self.clock.now();
        // Just said: no other run can take over while this one cancels.
        self.still_alive(now)?;
        for id in store::vanished_upstream(self.conn, self.run_id)? {
            if store::cancel_vanished(self.conn, &id, now)? {
                self.counts.cancelled += 1;
            }
        }
        Ok(())
    }
}
