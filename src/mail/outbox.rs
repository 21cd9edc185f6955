//! The outbox: a message is a row written in the same transaction as the
//! event it reports, so that nothing acknowledged is lost. A worker claims
//! due rows, sends them, retries failures after a growing, jittered delay,
//! and ends in a visible « en échec » state after too many attempts, from
//! which the RGC or the admin can send the message again.
//!
//! Claiming is a compare-and-set on the row's next attempt time: of two
//! workers (two nodes, or the server and `relais jobs run deliver-mail`),
//! only one moves it, so a message is not sent twice at once. A worker that
//! dies mid-send leaves the row to be claimed again when its lease ends; the
//! message keeps its Message-ID, so a resend can be recognised.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngExt;
use serde_json::json;

use super::EmailAddress;
use super::transport::Mailer;
use crate::audit::{self, Action, Actor, Event};
use crate::config::MailSettings;
use crate::db::schema::outbox;
use crate::db::{DbConnection, DbError};

const BATCH: i64 = 100;

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Sent,
    /// Given up after the configured attempts; someone may send it again.
    Failed,
}

impl MailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<MailStatus> {
        [MailStatus::Pending, MailStatus::Sent, MailStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

pub struct Message {
    pub to: EmailAddress,
    pub subject: String,
    pub body: String,
    /// The partner the message concerns, whose RGC sees it if it fails.
    pub partner: Option<String>,
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
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub partner_id: Option<String>,
}

impl Queued {
    /// The Message-ID header: the same at every attempt.
    pub fn message_id(&self) -> String {
        format!("<{}@relais>", self.id)
    }
}

/// Queues a message; call it inside the transaction of the event. Returns
/// the message's id.
pub fn enqueue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    message: Message,
) -> Result<String, DbError> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::recipient.eq(message.to.as_str()),
            outbox::subject.eq(&message.subject),
            outbox::body.eq(&message.body),
            outbox::status.eq(MailStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
            outbox::partner_id.eq(&message.partner),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Every message, newest first (for operators and tests).
pub fn list(conn: &mut DbConnection) -> Result<Vec<Queued>, DbError> {
    Ok(outbox::table
        .order(outbox::created_at.desc())
        .select(Queued::as_select())
        .load(conn)?)
}

/// Messages not delivered yet — failed ones, and pending ones that already
/// failed at least once — of one partner, or of all (`None`), newest first.
pub fn undelivered(conn: &mut DbConnection, partner: Option<&str>) -> Result<Vec<Queued>, DbError> {
    let mut query = outbox::table
        .filter(
            outbox::status
                .eq(MailStatus::Failed.as_str())
                .or(outbox::status
                    .eq(MailStatus::Pending.as_str())
                    .and(outbox::attempts.gt(0))),
        )
        .into_boxed();
    if let Some(partner) = partner {
        query = query.filter(outbox::partner_id.eq(partner));
    }
    Ok(query
        .order(outbox::created_at.desc())
        .limit(500)
        .select(Queued::as_select())
        .load(conn)?)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Retry {
    Queued,
    /// Not a failed message (already sent, or still being tried).
    NotFailed,
    NotFound,
}

/// Sends a failed message again: it starts over with a full set of attempts.
/// `partner` limits the action to that partner's messages (an RGC's).
pub fn retry(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: &Actor,
    partner: Option<&str>,
    id: &str,
) -> Result<Retry, DbError> {
    conn.transaction(|conn| {
        // Write first: SQLite then holds the lock for the whole transaction.
        diesel::update(outbox::table.find(id))
            .set(outbox::attempts.eq(outbox::attempts))
            .execute(conn)?;
        let found: Option<Queued> = outbox::table
            .find(id)
            .select(Queued::as_select())
            .first(conn)
            .optional()?;
        let Some(message) =
            found.filter(|m| partner.is_none() || m.partner_id.as_deref() == partner)
        else {
            return Ok(Retry::NotFound);
        };
        let reset = diesel::update(
            outbox::table
                .find(id)
                .filter(outbox::status.eq(MailStatus::Failed.as_str())),
        )
        .set((
            outbox::status.eq(MailStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
        if reset == 0 {
            return Ok(Retry::NotFailed);
        }
        audit::record(
            conn,
            now,
            Event {
                actor: Some(&actor.id),
                partner: message.partner_id.as_deref(),
                action: Action::MailRetried,
                object_type: "mail",
                object_id: Some(id),
                address: Some(&actor.address),
                details: json!({ "previous_attempts": message.attempts }),
            },
        )?;
        Ok(Retry::Queued)
    })
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
    mailer: &Mailer,
) -> Result<Delivery, DbError> {
    let due: Vec<Queued> = outbox::table
        .filter(outbox::status.eq(MailStatus::Pending.as_str()))
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::created_at.asc())
        .limit(BATCH)
        .select(Queued::as_select())
        .load(conn)?;
    // Long enough for one send to end, however slow the server.
    let lease = now + Duration::seconds(2 * settings.smtp.timeout_secs as i64 + 60);
    let mut delivery = Delivery::default();
    for message in due {
        let claimed = diesel::update(
            outbox::table
                .find(&message.id)
                .filter(outbox::status.eq(MailStatus::Pending.as_str()))
                .filter(outbox::next_attempt_at.eq(message.next_attempt_at)),
        )
        .set(outbox::next_attempt_at.eq(lease))
        .execute(conn)?;
        if claimed == 0 {
            continue; // another worker has it
        }
        let attempts = message.attempts + 1;
        match mailer.send(&message, &settings.from) {
            Ok(()) => {
                diesel::update(outbox::table.find(&message.id))
                    .set((
                        outbox::status.eq(MailStatus::Sent.as_str()),
                        outbox::sent_at.eq(now),
                        outbox::attempts.eq(attempts),
                        outbox::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                delivery.sent += 1;
            }
            Err(error) => {
                let gave_up = i64::from(attempts) >= i64::from(settings.max_attempts.get());
                // The server's answer may quote the recipient's address: it
                // stays in the outbox row (`last_error`), out of the logs.
                tracing::warn!(
                    attempts,
                    gave_up,
                    mail_id = %message.id,
                    "mail delivery failed; the outbox row holds the server's answer"
                );
                conn.transaction(|conn| {
                    diesel::update(outbox::table.find(&message.id))
                        .set((
                            outbox::status.eq(if gave_up {
                                MailStatus::Failed.as_str()
                            } else {
                                MailStatus::Pending.as_str()
                            }),
                            outbox::attempts.eq(attempts),
                            outbox::next_attempt_at.eq(now + retry_delay(settings, attempts)),
                            outbox::last_error.eq(Some(&error)),
                        ))
                        .execute(conn)?;
                    if gave_up {
                        audit::record(
                            conn,
                            now,
                            Event {
                                actor: None,
                                partner: message.partner_id.as_deref(),
                                action: Action::MailFailed,
                                object_type: "mail",
                                object_id: Some(&message.id),
                                address: None,
                                details: json!({ "attempts": attempts }),
                            },
                        )?;
                    }
                    Ok::<_, DbError>(())
                })?;
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

/// Exponential backoff with jitter: base × 2^(attempts−1), capped, then a
/// random half to a whole of it, so that retries after an outage spread out.
pub fn retry_delay(settings: &MailSettings, attempts: i32) -> Duration {
    let doubling = 1_i64 << (attempts - 1).clamp(0, 30);
    let ceiling = i64::from(settings.retry_base_secs.get())
        .saturating_mul(doubling)
        .min(settings.retry_max_secs.get().into());
    let seconds = rand::rng().random_range(ceiling / 2..=ceiling);
    Duration::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::config::{Settings, Sources};

    #[test]
    fn retry_delays_double_with_jitter_and_stay_under_the_ceiling() {
        let mut settings = Settings::load(&Sources::default()).expect("defaults").mail;
        settings.retry_base_secs = NonZeroU32::new(60).unwrap();
        settings.retry_max_secs = NonZeroU32::new(3600).unwrap();
        for attempts in 1..=12 {
            let ceiling = (60_i64 << (attempts - 1)).min(3600);
            for _ in 0..50 {
                let delay = retry_delay(&settings, attempts).num_seconds();
                assert!(
                    (ceiling / 2..=ceiling).contains(&delay),
                    "attempt {attempts}: {delay}s outside {}..={ceiling}",
                    ceiling / 2
                );
            }
        }
    }
}
