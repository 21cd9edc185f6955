//! Scheduled jobs: they run inside the server on a timer, and each can be
//! run once from the command line (`relais jobs run NAME`). Each is
//! idempotent: running it twice in a row does nothing the second time.

pub mod inactivity;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Database;
use crate::mail::MailWaker;
use crate::mail::outbox;
use crate::mail::transport::Mailer;
use crate::offers::sync::{self, runs::RunStatus};
use crate::referrals::retention;

pub const JOB_NAMES: [&str; 4] = [
    "suspend-inactive",
    "deliver-mail",
    "sync-offers",
    "anonymise-candidates",
];

/// Runs one job now; returns a line for the operator.
pub fn run_once(
    name: &str,
    database: &Database,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<String, String> {
    let mut conn = database.connection().map_err(|e| e.to_string())?;
    let now = clock.now();
    match name {
        "suspend-inactive" => {
            let report =
                inactivity::run(&mut conn, now, &settings.accounts).map_err(|e| e.to_string())?;
            Ok(format!(
                "{} personne(s) prévenue(s), {} compte(s) suspendu(s).",
                report.warned, report.suspended
            ))
        }
        "deliver-mail" => {
            let mailer = Mailer::from_settings(&settings.mail)?;
            let delivery = outbox::deliver_due(&mut conn, now, &settings.mail, &mailer)
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{} courriel(s) envoyé(s), {} à réessayer, {} en échec définitif.",
                delivery.sent, delivery.retried, delivery.failed
            ))
        }
        "anonymise-candidates" => {
            let report = retention::anonymise_expired(&mut conn, now, &settings.referrals)
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{} personne(s) accompagnée(s) anonymisée(s), dans {} mise(s) en relation ou demande(s).",
                report.candidates, report.records
            ))
        }
        "sync-offers" => {
            let report =
                sync::run(&mut conn, &settings.sync, clock, &|_| {}).map_err(|e| e.to_string())?;
            match report.status {
                RunStatus::Failed => Err(report.summary()),
                _ => Ok(report.summary()),
            }
        }
        other => Err(format!(
            "tâche « {other} » inconnue : {}",
            JOB_NAMES.join(", ")
        )),
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
                    Ok(Err(error)) => tracing::error!(job = name, %error, "job failed"),
                    Err(error) => tracing::error!(job = name, %error, "job interrupted"),
                }
            }
        });
    }
}
