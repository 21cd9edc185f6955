//! Accounts idle for more than three months (`accounts.inactivity_days`,
//! 90) are suspended; the person is warned some days before; the RGC is
//! told of each suspension, and the platform admins of an RGC's. Admin
//! accounts are not concerned.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::accounts::{AccountStatus, Role};
use crate::audit::{self, Action, Event};
use crate::config::AccountSettings;
use crate::db::schema::users;
use crate::db::{DbConnection, DbError};
use crate::mail::EmailAddress;
use crate::mail::outbox::{self, Message};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub warned: usize,
    pub suspended: usize,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Idle {
    id: String,
    partner_id: Option<String>,
    role: String,
    login: String,
    full_name: Option<String>,
    email: Option<String>,
    last_activity_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    inactivity_warned_at: Option<NaiveDateTime>,
}

impl Idle {
    /// Activity is counted from the last request, or from creation for an
    /// account never used.
    fn since(&self) -> NaiveDateTime {
        self.last_activity_at.unwrap_or(self.created_at)
    }

    fn name(&self) -> &str {
        self.full_name.as_deref().unwrap_or(&self.login)
    }
}

pub fn run(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    settings: &AccountSettings,
) -> Result<Report, DbError> {
    let inactivity = Duration::days(settings.inactivity_days.get().into());
    let suspend_before = now - inactivity;
    let warn_before = suspend_before + Duration::days(settings.warning_days.into());
    let candidates: Vec<Idle> = users::table
        .filter(users::status.eq(AccountStatus::Active.as_str()))
        .filter(users::role.ne(Role::Admin.as_str()))
        .select(Idle::as_select())
        .load(conn)?;
    let mut report = Report::default();
    for idle in candidates {
        let since = idle.since();
        if since < suspend_before {
            conn.transaction(|conn| suspend(conn, now, &idle))?;
            report.suspended += 1;
        } else if since < warn_before
            && idle
                .inactivity_warned_at
                .is_none_or(|warned| warned < since)
        {
            conn.transaction(|conn| warn(conn, now, &idle, since + inactivity))?;
            report.warned += 1;
        }
    }
    Ok(report)
}

fn warn(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    idle: &Idle,
    on: NaiveDateTime,
) -> Result<(), DbError> {
    if let Some(to) = idle.email.as_deref().and_then(EmailAddress::parse) {
        outbox::enqueue(
            conn,
            now,
            Message {
                to,
                partner: idle.partner_id.clone(),
                subject: "relais : votre compte sera suspendu faute d'activité".to_owned(),
                body: format!(
                    "Bonjour {},\n\nVotre compte relais ({}) n'a pas servi depuis le {}. \
                     Sans connexion d'ici le {}, il sera suspendu, comme le prévoit la convention \
                     de partenariat.\n\nPour le garder, connectez-vous simplement à relais.\n\
                     Si vous n'en avez plus besoin, il n'y a rien à faire.\n",
                    idle.name(),
                    idle.login,
                    idle.since().format("%d/%m/%Y"),
                    on.format("%d/%m/%Y"),
                ),
            },
        )?;
    }
    diesel::update(users::table.find(&idle.id))
        .set(users::inactivity_warned_at.eq(now))
        .execute(conn)?;
    Ok(())
}

fn suspend(conn: &mut DbConnection, now: NaiveDateTime, idle: &Idle) -> Result<(), DbError> {
    diesel::update(users::table.find(&idle.id))
        .set((
            users::status.eq(AccountStatus::Suspended.as_str()),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::auth::end_sessions(conn, now, &idle.id)?;
    audit::record(
        conn,
        now,
        Event {
            actor: None,
            partner: idle.partner_id.as_deref(),
            action: Action::AccountSuspended,
            object_type: "user",
            object_id: Some(&idle.id),
            address: None,
            details: json!({ "reason": "inactivity", "since": idle.since().to_string() }),
        },
    )?;
    // An RGC's suspension goes to the platform admins, so that they designate
    // a new one; anyone else's to their partner's RGC.
    let is_rgc = idle.role == Role::Rgc.as_str();
    let mut told = users::table
        .filter(users::status.eq(AccountStatus::Active.as_str()))
        .into_boxed();
    told = if is_rgc {
        told.filter(users::role.eq(Role::Admin.as_str()))
    } else {
        told.filter(users::role.eq(Role::Rgc.as_str()))
            .filter(users::partner_id.eq(idle.partner_id.clone()))
    };
    let recipients: Vec<Option<String>> = told.select(users::email).load(conn)?;
    let (subject, action) = if is_rgc {
        (
            "relais : le compte d'un RGC est suspendu faute d'activité",
            "Désignez un nouveau responsable de gestion des comptes pour cette structure, ou réactivez celui-ci.",
        )
    } else {
        (
            "relais : un compte de votre structure est suspendu faute d'activité",
            "Vous seul pouvez le réactiver, dans la limite des comptes autorisés, depuis la page « Comptes de la structure ».",
        )
    };
    for to in recipients
        .into_iter()
        .flatten()
        .filter_map(|e| EmailAddress::parse(&e))
    {
        outbox::enqueue(
            conn,
            now,
            Message {
                to,
                partner: idle.partner_id.clone(),
                subject: subject.to_owned(),
                body: format!(
                    "Bonjour,\n\nLe compte relais {} ({}) n'a pas servi depuis le {} : il vient d'être \
                     suspendu, comme le prévoit la convention de partenariat.\n\n{action}\n",
                    idle.login,
                    idle.name(),
                    idle.since().format("%d/%m/%Y"),
                ),
            },
        )?;
    }
    Ok(())
}
