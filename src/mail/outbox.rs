//! The outbox: a message is a row written in the same transaction as the
//! event it reports, so that nothing acknowledged is lost; a worker delivers
//! due rows, retries failures with a growing delay, and ends in a visible
//! `failed` state after too many attempts.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use lettre::message::Mailbox;
use lettre::{FileTransport, Transport};

use super::EmailAddress;
use crate::config::{MailSettings, MailTransport};
use crate::db::schema::outbox;
use crate::db::{DbConnection, DbError};

const BATCH: i64 = 100;
const MAX_ATTEMPTS: i32 = 10;
const MAX_DELAY_MINUTES: i64 = 6 * 60;

pub struct Message {
    pub to: EmailAddress,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Queued {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Queues a message; call it inside the transaction of the event.
pub fn enqueue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    message: Message,
) -> Result<(), DbError> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(uuid::Uuid::new_v4().to_string()),
            outbox::recipient.eq(message.to.as_str()),
            outbox::subject.eq(&message.subject),
            outbox::body.eq(&message.body),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every message, newest first (for operators and tests).
pub fn list(conn: &mut DbConnection) -> Result<Vec<Queued>, DbError> {
    Ok(outbox::table
        .order(outbox::created_at.desc())
        .select(Queued::as_select())
        .load(conn)?)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Delivers the messages that are due.
pub fn deliver_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    settings: &MailSettings,
) -> Result<Delivery, DbError> {
    let due: Vec<Queued> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::created_at.asc())
        .limit(BATCH)
        .select(Queued::as_select())
        .load(conn)?;
    let mut delivery = Delivery::default();
    for message in due {
        match send(&message, settings) {
            Ok(()) => {
                diesel::update(outbox::table.find(&message.id))
                    .set((
                        outbox::status.eq("sent"),
                        outbox::sent_at.eq(now),
                        outbox::attempts.eq(message.attempts + 1),
                        outbox::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                delivery.sent += 1;
            }
            Err(error) => {
                let attempts = message.attempts + 1;
                let gave_up = attempts >= MAX_ATTEMPTS;
                let delay = Duration::minutes((1_i64 << attempts.min(9)).min(MAX_DELAY_MINUTES));
                tracing::warn!(attempts, gave_up, %error, "mail delivery failed");
                diesel::update(outbox::table.find(&message.id))
                    .set((
                        outbox::status.eq(if gave_up { "failed" } else { "pending" }),
                        outbox::attempts.eq(attempts),
                        outbox::next_attempt_at.eq(now + delay),
                        outbox::last_error.eq(Some(error)),
                    ))
                    .execute(conn)?;
                if gave_up {
                    delivery.failed += 1;
                } else {
                    delivery.retried += 1;
                }
            }
        }
    }
    Ok(delivery)
}

fn send(message: &Queued, settings: &MailSettings) -> Result<(), String> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| format!("expéditeur « {} » : {e}", settings.from))?;
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|e| format!("destinataire : {e}"))?;
    let email = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(&message.subject)
        .message_id(Some(format!("<{}@relais>", message.id)))
        .body(message.body.clone())
        .map_err(|e| e.to_string())?;
    match settings.transport {
        MailTransport::File => {
            std::fs::create_dir_all(&settings.file_dir).map_err(|e| e.to_string())?;
            FileTransport::new(&settings.file_dir)
                .send(&email)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        MailTransport::Smtp => {
            Err("le transport SMTP n'est pas encore disponible dans cette version".to_owned())
        }
    }
}
