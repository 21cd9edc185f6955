//! Scheduled jobs: they run inside the server on a timer, and each can be
//! run once from the command line (`relais jobs run NAME`). Each is
//! idempotent: running it twice in a row does nothing the second time.
//! On PostgreSQL, where several nodes share the database, a job runs on one
//! node at a time; mail delivery excepted, whose nodes share the work.

pub mod inactivity;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{Database, DbError, Exclusive};
use crate::mail::MailWaker;
use crate::mail::outbox;
use crate::mail::transport::Mailer;
use crate::offers::sync::{self, SyncError, runs::RunStatus};
use crate::referrals::retention;

pub const JOB_NAMES: [&str; 4] = [
    "suspend-inactive",
    "deliver-mail",
    "sync-offers",
    "anonymise-candidates",
];

/// The jobs' advisory lock keys, on PostgreSQL: this one for the first of
/// `JOB_NAMES`, the next ones for the others in their order.
const FIRST_LOCK_KEY: i64 = 0x7265_6c61_6a00;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(
        "la tâche « {0} » est déjà en cours (lancée par le serveur, une commande ou un autre nœud) : \
         celle-ci n'est pas lancée"
    )]
    Busy(String),
    #[error("tâche « {0} » inconnue : {known}", known = JOB_NAMES.join(", "))]
    Unknown(String),
    #[error("{0}")]
    Failed(String),
}

impl From<DbError> for JobError {
    fn from(error: DbError) -> JobError {
        JobError::Failed(error.to_string())
    }
}

/// The right to run the job `name` alone among the nodes sharing the
/// database, held until dropped (see `Database::exclusive`).
pub fn take_turn(database: &Database, name: &str) -> Result<Exclusive, JobError> {
    let position = JOB_NAMES
        .iter()
        .position(|known| *known == name)
        .ok_or_else(|| JobError::Unknown(name.to_owned()))?;
    database
        .exclusive(FIRST_LOCK_KEY + position as i64)?
        .ok_or_else(|| JobError::Busy(name.to_owned()))
}

/// Runs one job now; returns a line for the operator.
pub fn run_once(
    name: &str,
    database: &Database,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<String, JobError> {
    // Held until the job ends.
    let _turn = match name {
        "deliver-mail" => None,
        _ => Some(take_turn(database, name)?),
    };
    let mut conn = database.connection()?;
    let now = clock.now();
    match name {
        "suspend-inactive" => {
            let report = inactivity::run(
                &mut conn,
                now,
                &settings.accounts,
                &settings.server.base_url(),
            )?;
            Ok(format!(
                "{} personne(s) prévenue(s), {} compte(s) suspendu(s).",
                report.warned, report.suspended
            ))
        }
        "deliver-mail" => {
            let mailer = Mailer::from_settings(&settings.mail).map_err(JobError::Failed)?;
            let delivery = outbox::deliver_due(&mut conn, now, &settings.mail, &mailer)?;
            Ok(format!(
                "{} courriel(s) envoyé(s), {} à réessayer, {} en échec définitif.",
                delivery.sent, delivery.retried, delivery.failed
            ))
        }
        "anonymise-candidates" => {
            let report = retention::anonymise_expired(&mut conn, now, &settings.referrals)?;
            Ok(format!(
                "{} personne(s) accompagnée(s) anonymisée(s), dans {} mise(s) en relation ou demande(s).",
                report.candidates, report.records
            ))
        }
        "sync-offers" => {
            let report = match sync::run(&mut conn, &settings.sync, clock, &|_| {}) {
                Err(SyncError::AlreadyRunning) => return Err(JobError::Busy(name.to_owned())),
                outcome => outcome.map_err(|e| JobError::Failed(e.to_string()))?,
            };
            match report.status {
                RunStatus::Failed => Err(JobError::Failed(report.summary())),
                _ => Ok(report.summary()),
            }
        }
        other => Err(JobError::Unknown(other.to_owned())),
    }
}

/// Starts the server's timers: mail delivery every few seconds and whenever
/// a message is queued, the inactivity and retention jobs every few hours,
/// the upstream sync every `sync.interval_minutes` (an interval of 0 turns a
/// timer off: tests run jobs themselves). They stop with the runtime.
pub fn schedule(database: Database, settings: Settings, clock: Arc<dyn Clock>, mail: MailWaker) {
    let every = [
        ("deliver-mail", settings.mail.delivery_interval_secs),
        (
            "suspend-inactive",
            settings.accounts.inactivity_check_hours * 3600,
        ),
        ("sync-offers", settings.sync.interval_minutes * 60),
        (
            "anonymise-candidates",
            settings.referrals.retention_check_hours * 3600,
        ),
    ];
    for (name, seconds) in every {
        if seconds == 0 {
            continue;
        }
        let period = Duration::from_secs(seconds);
        let (database, settings, clock) = (database.clone(), settings.clone(), clock.clone());
        let waker = (name == "deliver-mail").then(|| mail.clone());
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(period);
            loop {
                match &waker {
                    Some(waker) => tokio::select! {
                        _ = timer.tick() => {}
                        () = waker.woken() => {}
                    },
                    None => {
                        timer.tick().await;
                    }
                }
                let (database, settings, clock) =
                    (database.clone(), settings.clone(), clock.clone());
                let outcome = tokio::task::spawn_blocking(move || {
                    run_once(name, &database, &settings, clock.as_ref())
                })
                .await;
                match outcome {
                    Ok(Ok(summary)) => tracing::debug!(job = name, %summary, "job ran"),
                    // Another node's turn: this one waits for its next tick.
                    Ok(Err(JobError::Busy(_))) => {
                        tracing::debug!(job = name, "job left to another run")
                    }
                    Ok(Err(error)) => tracing::error!(job = name, %error, "job failed"),
                    Err(error) => tracing::error!(job = name, %error, "job interrupted"),
                }
            }
        });
    }
}
