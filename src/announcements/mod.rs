//! Service announcements from the platform admin, shown on every page:
//! information between two instants, and planned maintenance, announced
//! from its publication until the work is over.
//!
//! People read times in Paris time; they are stored in UTC like every
//! instant relais records.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Action, Actor, Event};
use crate::clock::{self, in_paris};
use crate::db::schema::announcements;
use crate::db::{Database, DbConnection, DbError};

/// The longest message: a banner, not an article.
pub const MAX_MESSAGE_CHARS: usize = 300;
/// How long a node shows the announcements it read before reading them
/// again: another node's publication shows within this delay.
const BOARD_REFRESH: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = announcements)]
pub struct Announcement {
    pub id: String,
    pub message: String,
    pub maintenance: bool,
    /// The maintenance's start, or when information starts to show (UTC).
    pub starts_at: NaiveDateTime,
    /// The maintenance's end, or when information stops showing (UTC).
    pub ends_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl Announcement {
    /// Whether it shows at `now`: maintenance before and while it happens,
    /// information within its dates; never once withdrawn.
    pub fn shown_at(&self, now: NaiveDateTime) -> bool {
        self.withdrawn_at.is_none()
            && now < self.ends_at
            && (self.maintenance || self.starts_at <= now)
    }

    /// « Maintenance prévue le 12/12/2026 de 20:00 à 22:00 (heure de Paris) :
    /// relais sera indisponible. » for maintenance; nothing for information.
    pub fn window(&self) -> Option<String> {
        if !self.maintenance {
            return None;
        }
        let (start, end) = (in_paris(self.starts_at), in_paris(self.ends_at));
        let when = if start.date() == end.date() {
            format!(
                "le {} de {} à {}",
                start.format("%d/%m/%Y"),
                start.format("%H:%M"),
                end.format("%H:%M")
            )
        } else {
            format!(
                "du {} au {}",
                start.format("%d/%m/%Y %H:%M"),
                end.format("%d/%m/%Y %H:%M")
            )
        };
        Some(format!(
            "Maintenance prévue {when} (heure de Paris) : relais sera indisponible."
        ))
    }
}

/// An announcement as the admin's form sends it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    message: String,
    maintenance: bool,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
}

/// A Paris time from the form, in UTC; the hour skipped when clocks go
/// forward does not exist, the hour repeated when they go back is taken
/// the first time.
fn from_paris(raw: &str, what: &str) -> Result<NaiveDateTime, String> {
    let local = clock::parse_moment(raw).ok_or_else(|| {
        format!(
            "« {what} » est attendu sous la forme d'une date et d'une heure (jj/mm/aaaa hh:mm)."
        )
    })?;
    clock::from_paris(local).ok_or_else(|| {
            format!("« {what} » tombe dans l'heure sautée au changement d'heure : choisissez une autre heure.")
        })
}

impl Draft {
    /// The form's fields, or the French reason they cannot be published.
    pub fn parse(
        message: &str,
        maintenance: bool,
        start: &str,
        end: &str,
        now: NaiveDateTime,
    ) -> Result<Draft, String> {
        // One line: a banner has no paragraphs.
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        if message.is_empty() {
            return Err("Écrivez le message de l'annonce.".to_owned());
        }
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(format!(
                "Le message dépasse {MAX_MESSAGE_CHARS} caractères : raccourcissez-le."
            ));
        }
        let (starts_at, ends_at) = (from_paris(start, "Début")?, from_paris(end, "Fin")?);
        if ends_at <= starts_at {
            return Err("La fin doit venir après le début.".to_owned());
        }
        if ends_at <= now {
            return Err("La fin est déjà passée : l'annonce ne serait jamais vue.".to_owned());
        }
        if maintenance && starts_at <= now {
            return Err(
                "Une maintenance s'annonce avant qu'elle commence : son début doit être à venir."
                    .to_owned(),
            );
        }
        Ok(Draft {
            message,
            maintenance,
            starts_at,
            ends_at,
        })
    }
}

pub fn publish(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: &Actor,
    draft: &Draft,
) -> Result<String, DbError> {
    let id = uuid::Uuid::new_v4().to_string();
    conn.transaction(|conn| {
        diesel::insert_into(announcements::table)
            .values((
                announcements::id.eq(&id),
                announcements::message.eq(&draft.message),
                announcements::maintenance.eq(draft.maintenance),
                announcements::starts_at.eq(draft.starts_at),
                announcements::ends_at.eq(draft.ends_at),
                announcements::published_at.eq(now),
                announcements::published_by.eq(&actor.id),
            ))
            .execute(conn)?;
        record(conn, now, actor, Action::AnnouncementPublished, &id)
    })?;
    Ok(id)
}

/// What withdrawing an announcement did.
#[derive(Debug, PartialEq, Eq)]
pub enum Withdrawal {
    Withdrawn,
    /// Already withdrawn, or over: nothing to do.
    AlreadyOver,
    Unknown,
}

/// Withdraws an announcement still shown or to come.
pub fn withdraw(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: &Actor,
    id: &str,
) -> Result<Withdrawal, DbError> {
    conn.transaction(|conn| {
        let withdrawn = diesel::update(
            announcements::table
                .find(id)
                .filter(announcements::withdrawn_at.is_null())
                .filter(announcements::ends_at.gt(now)),
        )
        .set(announcements::withdrawn_at.eq(now))
        .execute(conn)?;
        if withdrawn == 0 {
            let known: i64 = announcements::table.find(id).count().get_result(conn)?;
            return Ok(match known {
                0 => Withdrawal::Unknown,
                _ => Withdrawal::AlreadyOver,
            });
        }
        record(conn, now, actor, Action::AnnouncementWithdrawn, id)?;
        Ok(Withdrawal::Withdrawn)
    })
}

fn record(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: &Actor,
    action: Action,
    id: &str,
) -> Result<(), DbError> {
    audit::record(
        conn,
        now,
        Event {
            actor: Some(&actor.id),
            partner: None,
            action,
            object_type: "announcement",
            object_id: Some(id),
            address: Some(&actor.address),
            details: json!({}),
        },
    )
}

/// Announcements not withdrawn and not over at `now`, soonest first.
pub fn not_over(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<Announcement>, DbError> {
    Ok(announcements::table
        .filter(announcements::withdrawn_at.is_null())
        .filter(announcements::ends_at.gt(now))
        .order(announcements::starts_at)
        .select(Announcement::as_select())
        .load(conn)?)
}

/// The latest announcements, over or not, newest first.
pub fn latest(conn: &mut DbConnection, limit: i64) -> Result<Vec<Announcement>, DbError> {
    Ok(announcements::table
        .order(announcements::published_at.desc())
        .limit(limit)
        .select(Announcement::as_select())
        .load(conn)?)
}

/// What this node shows on its pages: the announcements not over, read
/// again from the database every `BOARD_REFRESH` and at once after a change
/// made here.
pub struct Board {
    database: Database,
    read: RwLock<Option<(Instant, Arc<Vec<Announcement>>)>>,
}

impl Board {
    pub fn new(database: Database) -> Board {
        Board {
            database,
            read: RwLock::new(None),
        }
    }

    /// The announcements shown at `now`.
    pub async fn shown(&self, now: NaiveDateTime) -> Result<Vec<Announcement>, DbError> {
        let fresh = self
            .read
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < BOARD_REFRESH)
            .map(|(_, announcements)| Arc::clone(announcements));
        let announcements = match fresh {
            Some(announcements) => announcements,
            None => {
                let read = Arc::new(self.database.run(move |conn| not_over(conn, now)).await?);
                *self
                    .read
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some((Instant::now(), Arc::clone(&read)));
                read
            }
        };
        Ok(announcements
            .iter()
            .filter(|a| a.shown_at(now))
            .cloned()
            .collect())
    }

    /// After a publication or a withdrawal here: read again at the next page.
    pub fn forget(&self) {
        *self
            .read
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").expect("an instant")
    }

    #[test]
    fn paris_times_are_read_and_shown_across_the_clock_changes() {
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            from_paris("2026-12-12T20:00", "Début"),
            Ok(utc("2026-12-12 19:00"))
        );
        assert_eq!(
            from_paris("2026-07-01T08:30", "Début"),
            Ok(utc("2026-07-01 06:30"))
        );
        assert_eq!(in_paris(utc("2026-07-01 06:30")), utc("2026-07-01 08:30"));
        // 29 March 2026, 02:30 does not exist in Paris; 25 October 02:30 happens twice.
        let skipped = from_paris("2026-03-29T02:30", "Début").expect_err("skipped");
        assert!(skipped.contains("heure sautée"), "{skipped}");
        assert_eq!(
            from_paris("2026-10-25T02:30", "Fin"),
            Ok(utc("2026-10-25 00:30"))
        );
        // As the message asks, where the browser shows a plain text field.
        assert_eq!(
            from_paris("12/12/2026 20:00", "Début"),
            Ok(utc("2026-12-12 19:00"))
        );
        let wrong = from_paris("12/12/2026", "Fin").expect_err("no time");
        assert!(wrong.starts_with("« Fin »"), "{wrong}");
    }

    #[test]
    fn a_draft_is_checked_and_kept_on_one_line() {
        let now = utc("2026-12-05 10:00");
        let draft = Draft::parse(
            "  Mise à jour\n des  offres ",
            true,
            "2026-12-12T20:00",
            "2026-12-12T22:00",
            now,
        )
        .expect("a draft");
        assert_eq!(draft.message, "Mise à jour des offres");
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        let refused = [
            (
                " \n ",
                false,
                "2026-12-05T09:00",
                "2026-12-06T09:00",
                "Écrivez",
            ),
            (
                long.as_str(),
                false,
                "2026-12-05T09:00",
                "2026-12-06T09:00",
                "300 caractères",
            ),
            (
                "Avis",
                false,
                "2026-12-06T09:00",
                "2026-12-06T09:00",
                "après le début",
            ),
            (
                "Avis",
                false,
                "2026-12-01T09:00",
                "2026-12-05T10:00",
                "déjà passée",
            ),
            (
                "Avis",
                true,
                "2026-12-05T10:30",
                "2026-12-05T12:00",
                "son début doit être à venir",
            ),
            ("Avis", false, "", "2026-12-06T09:00", "« Début »"),
        ];
        for (message, maintenance, start, end, expected) in refused {
            let error = Draft::parse(message, maintenance, start, end, now).expect_err(expected);
            assert!(error.contains(expected), "{error}");
        }
        // Information may start at once (10:30 Paris is 09:30 UTC).
        assert!(Draft::parse("Avis", false, "2026-12-05T10:30", "2026-12-06T09:00", now).is_ok());
    }

    #[test]
    fn maintenance_shows_until_it_is_over_and_information_within_its_dates() {
        let announcement = |maintenance| Announcement {
            id: "a".to_owned(),
            message: "Mise à jour".to_owned(),
            maintenance,
            starts_at: utc("2026-12-12 19:00"),
            ends_at: utc("2026-12-12 21:00"),
            withdrawn_at: None,
        };
        let maintenance = announcement(true);
        assert!(
            maintenance.shown_at(utc("2026-12-05 10:00")),
            "announced before"
        );
        assert!(maintenance.shown_at(utc("2026-12-12 20:00")));
        assert!(!maintenance.shown_at(utc("2026-12-12 21:00")), "over");
        assert_eq!(
            maintenance.window().expect("a window"),
            "Maintenance prévue le 12/12/2026 de 20:00 à 22:00 (heure de Paris) : relais sera indisponible."
        );
        let information = announcement(false);
        assert!(!information.shown_at(utc("2026-12-05 10:00")), "not yet");
        assert!(information.shown_at(utc("2026-12-12 19:00")));
        assert_eq!(information.window(), None);
        let withdrawn = Announcement {
            withdrawn_at: Some(utc("2026-12-02 09:00")),
            ..announcement(true)
        };
        assert!(!withdrawn.shown_at(utc("2026-12-05 10:00")));
    }
}
