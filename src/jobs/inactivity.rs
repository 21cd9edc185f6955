//! Accounts idle for more than three months (`accounts.inactivity_days`,
//! 90) are suspended; the person is warned some days before; the RGC is
//! told of each suspension, and the platform admins of an RGC's. Admin
//! accounts are not concerned.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::expression::{ValidGrouping, is_aggregate};
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::{Bool, Nullable, Timestamp};
use serde_json::json;

use crate::accounts::{self, ACCOUNTS_PATH, AccountStatus, PARTNERS_PATH, Role};
use crate::audit::{self, Action, Event};
use crate::auth::LOGIN_PATH;
use crate::clock::{day_start_in_paris, in_paris};
use crate::config::AccountSettings;
use crate::db::schema::{partners, users};
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
    activated_at: Option<NaiveDateTime>,
}

impl Idle {
    /// Activity is counted from the last request, or from creation for an
    /// account never used, and never from before its last (re)activation.
    fn since(&self) -> NaiveDateTime {
        let used = self.last_activity_at.unwrap_or(self.created_at);
        self.activated_at
            .map_or(used, |activated| used.max(activated))
    }

    fn name(&self) -> &str {
        self.full_name.as_deref().unwrap_or(&self.login)
    }
}

pub fn run(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    settings: &AccountSettings,
    base_url: &str,
) -> Result<Report, DbError> {
    let inactivity = Duration::days(settings.inactivity_days.get().into());
    let warning = Duration::days(settings.warning_days.into());
    let warn_before = now - inactivity + warning;
    let candidates: Vec<Idle> = users::table
        .filter(users::status.eq(AccountStatus::Active.as_str()))
        .filter(users::role.ne(Role::Admin.as_str()))
        .select(Idle::as_select())
        .load(conn)?;
    let agreements: HashMap<String, (NaiveDate, NaiveDate)> = partners::table
        .select((
            partners::id,
            (partners::agreement_start, partners::agreement_end),
        ))
        .load(conn)?
        .into_iter()
        .collect();
    let mut report = Report::default();
    for idle in candidates {
        let mut since = idle.since();
        // Idle time counts only while the agreement lets the person in:
        // outside it nobody could have signed in, and a warning would
        // invite them to.
        if let Some(&(start, end)) = idle.partner_id.as_ref().and_then(|p| agreements.get(p)) {
            if !accounts::within_agreement(start, end, now) {
                continue;
            }
            since = since.max(day_start_in_paris(start));
        }
        if since >= warn_before {
            continue;
        }
        // Nobody is suspended without a warning first, `warning_days`
        // ahead: not even after the job did not run for a while, or when an
        // agreement that had ended opens again.
        match idle.inactivity_warned_at.filter(|&warned| warned >= since) {
            None => {
                let on = (since + inactivity).max(now + warning);
                if conn.transaction(|conn| warn(conn, now, &idle, since, on, base_url))? {
                    report.warned += 1;
                }
            }
            Some(warned) if now > (since + inactivity).max(warned + warning) => {
                if conn.transaction(|conn| suspend(conn, now, &idle, since, base_url))? {
                    report.suspended += 1;
                }
            }
            Some(_) => {}
        }
    }
    Ok(report)
}

/// The account's row, if it is still as the job read it: active, idle since
/// the same moment, warned (or not) at the same time. Someone who logs in
/// while the job runs, or another run that got there first (a command,
/// another node), changes it: the job then leaves the account alone.
fn as_read(idle: &Idle) -> Condition {
    Box::new(
        users::id
            .eq(idle.id.clone())
            .and(users::status.eq(AccountStatus::Active.as_str()))
            .and(still(users::last_activity_at, idle.last_activity_at))
            .and(still(
                users::inactivity_warned_at,
                idle.inactivity_warned_at,
            ))
            .and(still(users::activated_at, idle.activated_at)),
    )
}

/// A nullable time column still holding what was read.
fn still<C>(column: C, read: Option<NaiveDateTime>) -> Condition
where
    C: Column<Table = users::table, SqlType = Nullable<Timestamp>>
        + ExpressionMethods
        + SelectableExpression<users::table>
        + ValidGrouping<(), IsAggregate = is_aggregate::No>
        + QueryFragment<Backend>
        + Send
        + 'static,
{
    match read {
        Some(at) => Box::new(column.assume_not_null().eq(at)),
        None => Box::new(column.is_null()),
    }
}

type Backend = <DbConnection as Connection>::Backend;
type Condition = Box<dyn BoxableExpression<users::table, Backend, SqlType = Bool>>;

/// Warns the person, unless their account changed since it was read.
fn warn(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    idle: &Idle,
    since: NaiveDateTime,
    on: NaiveDateTime,
    base_url: &str,
) -> Result<bool, DbError> {
    let marked = diesel::update(users::table.filter(as_read(idle)))
        .set(users::inactivity_warned_at.eq(now))
        .execute(conn)?;
    if marked == 0 {
        return Ok(false);
    }
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
                     de partenariat.\n\nPour le garder, connectez-vous simplement à relais : \
                     {base_url}{LOGIN_PATH}\n\
                     Si vous n'en avez plus besoin, il n'y a rien à faire.\n",
                    idle.name(),
                    idle.login,
                    in_paris(since).format("%d/%m/%Y"),
                    in_paris(on).format("%d/%m/%Y"),
                ),
            },
        )?;
    }
    Ok(true)
}

/// Suspends the account and tells who must know, unless the account changed
/// since it was read.
fn suspend(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    idle: &Idle,
    since: NaiveDateTime,
    base_url: &str,
) -> Result<bool, DbError> {
    let suspended = diesel::update(users::table.filter(as_read(idle)))
        .set((
            users::status.eq(AccountStatus::Suspended.as_str()),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if suspended == 0 {
        return Ok(false);
    }
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
            details: json!({ "reason": "inactivity", "since": since.to_string() }),
        },
    )?;
    // A coach's suspension goes to their partner's RGC, who alone can
    // reactivate it; an RGC's to the platform admins, so that they reactivate
    // or replace it, and so does a coach's while the partner has no active RGC.
    let is_rgc = idle.role == Role::Rgc.as_str();
    let active_emails = |conn: &mut DbConnection, role: Role, partner: Option<&String>| {
        let mut told = users::table
            .filter(users::status.eq(AccountStatus::Active.as_str()))
            .filter(users::role.eq(role.as_str()))
            .into_boxed();
        if let Some(partner) = partner {
            told = told.filter(users::partner_id.eq(partner.clone()));
        }
        told.select(users::email).load::<Option<String>>(conn)
    };
    let rgcs = match &idle.partner_id {
        Some(partner) if !is_rgc => active_emails(conn, Role::Rgc, Some(partner))?,
        _ => Vec::new(),
    };
    let partner_page = format!(
        "{base_url}{PARTNERS_PATH}/{}",
        idle.partner_id.as_deref().unwrap_or_default()
    );
    let (recipients, subject, action) = if !rgcs.is_empty() {
        (
            rgcs,
            "relais : un compte de votre structure est suspendu faute d'activité",
            format!(
                "Vous seul pouvez le réactiver, dans la limite des comptes autorisés, depuis la page \
                 « Comptes de la structure » : {base_url}{ACCOUNTS_PATH}"
            ),
        )
    } else if is_rgc {
        (
            active_emails(conn, Role::Admin, None)?,
            "relais : le compte d'un RGC est suspendu faute d'activité",
            format!(
                "Réactivez-le ou désignez un nouveau responsable de gestion des comptes depuis la \
                 page de la structure : {partner_page}"
            ),
        )
    } else {
        (
            active_emails(conn, Role::Admin, None)?,
            "relais : un compte est suspendu dans une structure sans RGC actif",
            format!(
                "La structure n'a pas de RGC actif pour le réactiver : réactivez son RGC ou \
                 désignez-en un nouveau depuis la page de la structure : {partner_page}"
            ),
        )
    };
    // Admins follow every partner: the mail names the account's.
    let partner_name: Option<String> = match &idle.partner_id {
        Some(partner) => partners::table
            .find(partner)
            .select(partners::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let of_partner = partner_name
        .map(|name| format!(" de la structure « {name} »"))
        .unwrap_or_default();
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
                    "Bonjour,\n\nLe compte relais {} ({}){of_partner} n'a pas servi depuis le {} : il \
                     vient d'être suspendu, comme le prévoit la convention de partenariat.\n\n{action}\n",
                    idle.login,
                    idle.name(),
                    in_paris(since).format("%d/%m/%Y"),
                ),
            },
        )?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::accounts;
    use crate::agencies;
    use crate::audit::Filter;
    use crate::config::AgenciesSettings;
    use crate::db::Database;

    const BASE_URL: &str = "http://relais.test";

    /// A run reads the accounts, then acts on each in turn: an account used
    /// in between, or dealt with by another run (a command, another node),
    /// is left alone.
    #[test]
    fn an_account_changed_after_the_run_read_it_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::in_folder(dir.path());
        let mut conn = database.connection().unwrap();
        let reference = agencies::load(&AgenciesSettings {
            file: PathBuf::new(),
        })
        .unwrap();
        agencies::upsert_all(&mut conn, &reference).unwrap();
        let logins = crate::demo::load_people(&mut conn).unwrap();
        let login = &logins
            .iter()
            .find(|person| person.role == "accompagnatrice")
            .unwrap()
            .login;
        let coach: Idle = users::table
            .filter(users::login.eq(login))
            .select(Idle::as_select())
            .first(&mut conn)
            .unwrap();
        let created = coach.created_at;
        let read = |conn: &mut DbConnection| -> Idle {
            users::table
                .find(&coach.id)
                .select(Idle::as_select())
                .first(conn)
                .unwrap()
        };
        let used_at = |conn: &mut DbConnection, at: NaiveDateTime| {
            diesel::update(users::table.find(&coach.id))
                .set(users::last_activity_at.eq(at))
                .execute(conn)
                .unwrap();
        };
        let status = |conn: &mut DbConnection| accounts::find(conn, &coach.id).unwrap().status;

        let day_85 = created + Duration::days(85);
        let stale = read(&mut conn);
        used_at(&mut conn, day_85);
        assert!(!warn(&mut conn, day_85, &stale, stale.since(), day_85, BASE_URL).unwrap());
        assert!(
            outbox::list(&mut conn).unwrap().is_empty(),
            "no warning to someone who just logged in"
        );
        let fresh = read(&mut conn);
        assert!(warn(&mut conn, day_85, &fresh, fresh.since(), day_85, BASE_URL).unwrap());
        assert!(
            !warn(&mut conn, day_85, &fresh, fresh.since(), day_85, BASE_URL).unwrap(),
            "warned once"
        );
        assert_eq!(outbox::list(&mut conn).unwrap().len(), 1);

        let day_200 = created + Duration::days(200);
        let stale = read(&mut conn);
        used_at(&mut conn, day_200);
        assert!(!suspend(&mut conn, day_200, &stale, stale.since(), BASE_URL).unwrap());
        assert_eq!(
            status(&mut conn),
            "active",
            "not suspended just after logging in"
        );
        let fresh = read(&mut conn);
        assert!(suspend(&mut conn, day_200, &fresh, fresh.since(), BASE_URL).unwrap());
        assert!(
            !suspend(&mut conn, day_200, &fresh, fresh.since(), BASE_URL).unwrap(),
            "suspended once"
        );
        assert_eq!(status(&mut conn), "suspended");
        let filter = Filter {
            person: Some(coach.id.clone()),
            ..Filter::default()
        };
        let suspensions = audit::search(&mut conn, &filter, 100)
            .unwrap()
            .into_iter()
            .filter(|row| row.action == "account_suspended")
            .count();
        assert_eq!(suspensions, 1);
    }
}
