//! Partners and their personal accounts: the platform admin registers a
//! partner and its RGC; the RGC creates accounts for named people. No more
//! accounts than the partner's seats may be active at once (the RGC excluded),
//! and that holds when two activations race for the last seat.

pub mod partnerships;
pub mod password;

pub use partnerships::{
    Designated, PartnerSummary, PreviousRgc, create_partner, current_rgc, list_partners,
    partner_names, register_partner, replace_rgc, update_partner,
};

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;

use crate::audit::{self, Action, Actor, Event};
use crate::clock::in_paris;
use crate::db::schema::{partners, users};
use crate::db::{DbConnection, DbError, lower};
use crate::mail::EmailAddress;
use crate::text::{composed, fold, quantity};
use password::PasswordRule;

pub(crate) const MAX_NAME: usize = 100;
const MAX_LOGIN_STEM: usize = 20;

/// Where the RGC manages the partner's accounts, and where the admins
/// manage partners (mails send them there).
pub const ACCOUNTS_PATH: &str = "/structure/comptes";
pub const PARTNERS_PATH: &str = "/admin/structures";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Staff of the employment service's territorial direction.
    Admin,
    /// The partner's account administrator (responsable de gestion de comptes).
    Rgc,
    /// A coach (accompagnateur·trice).
    Coach,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Rgc => "rgc",
            Role::Coach => "coach",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        [Role::Admin, Role::Rgc, Role::Coach]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    /// Deactivated by the RGC: frees a seat, keeps the history.
    Inactive,
    /// Suspended for inactivity: only the RGC can reactivate it.
    Suspended,
    /// Deleted: personal details erased, login never reused.
    Deleted,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Inactive => "inactive",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Deleted => "deleted",
        }
    }
}

/// Whether a partner's agreement lets its people in at `now`: its dates
/// are days in France, both included.
pub fn within_agreement(start: NaiveDate, end: NaiveDate, now: NaiveDateTime) -> bool {
    let today = in_paris(now).date();
    start <= today && today <= end
}

/// « 1 compte actif », « 2 comptes actifs ».
pub fn active_accounts(count: i64) -> String {
    quantity(count.unsigned_abs(), "compte actif", "comptes actifs")
}

fn no_seat(active: i64, seats: i32) -> String {
    let taken = match seats {
        0 => {
            return "La convention n'autorise aucun compte actif en dehors du RGC : \
                    demandez à l'administrateur de la plateforme d'en ouvrir."
                .to_owned();
        }
        1 => "Le compte autorisé par la convention est déjà actif".to_owned(),
        seats => format!(
            "Les {seats} comptes autorisés par la convention sont déjà actifs ({active} sur {seats})"
        ),
    };
    format!(
        "{taken}. Désactivez d'abord le compte d'une personne qui n'en a plus besoin, puis réessayez."
    )
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{}", no_seat(*active, *seats))]
    NoSeat { active: i64, seats: i32 },
    #[error("Structure partenaire introuvable.")]
    UnknownPartner,
    #[error("Compte introuvable.")]
    UnknownAccount,
    #[error("Un compte supprimé ne peut pas être réactivé : créez-en un nouveau.")]
    Deleted,
    #[error("{OFFERS_NOT_IN_SCOPE}")]
    OffersNotInScope,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Password(#[from] PasswordRule),
    #[error("le mot de passe n'a pas pu être chiffré : {0}")]
    Hash(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for AccountError {
    fn from(error: diesel::result::Error) -> Self {
        AccountError::Database(error.into())
    }
}

/// A person an account is for: name, function, professional email.
#[derive(Debug, Clone)]
pub struct Person {
    full_name: String,
    job_title: Option<String>,
    email: EmailAddress,
}

impl Person {
    pub fn parse(full_name: &str, job_title: &str, email: &str) -> Result<Person, AccountError> {
        let (full_name, job_title) = (composed(full_name), composed(job_title));
        let full_name = full_name.trim();
        if full_name.is_empty() || full_name.chars().count() > MAX_NAME {
            return Err(AccountError::Invalid(format!(
                "Le nom est obligatoire ({MAX_NAME} caractères au plus)."
            )));
        }
        let job_title = job_title.trim();
        if job_title.chars().count() > MAX_NAME {
            return Err(AccountError::Invalid(format!(
                "La fonction compte {MAX_NAME} caractères au plus."
            )));
        }
        let email = EmailAddress::parse(&address_key(email)).ok_or_else(|| {
            AccountError::Invalid("L'adresse électronique n'est pas valide.".to_owned())
        })?;
        Ok(Person {
            full_name: full_name.to_owned(),
            job_title: (!job_title.is_empty()).then(|| job_title.to_owned()),
            email,
        })
    }
}

/// What the platform admin registers about a partner.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = partners)]
pub struct PartnerTerms {
    pub name: String,
    pub agency_code: String,
    pub agreement_start: NaiveDate,
    pub agreement_end: NaiveDate,
    pub seats: i32,
    pub offers_service: bool,
    pub referrals_service: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct Partner {
    pub id: String,
    #[diesel(embed)]
    pub terms: PartnerTerms,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Account {
    pub id: String,
    pub partner_id: Option<String>,
    pub role: String,
    pub login: String,
    pub full_name: Option<String>,
    pub status: String,
    pub must_change_password: bool,
    pub last_activity_at: Option<NaiveDateTime>,
}

/// A login and its first password, shown once to whoever created the account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// Creates an account. A coach's account is active when a seat is free and
/// inactive otherwise (the RGC frees a seat, then activates it); admins and
/// RGCs take no seat.
pub fn create_account(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    partner_id: Option<&str>,
    role: Role,
    person: &Person,
) -> Result<(Account, Credentials), AccountError> {
    let password = password::generate();
    let hash = password::hash(&password).map_err(AccountError::Hash)?;
    let id = uuid::Uuid::new_v4().to_string();
    conn.transaction(|conn| {
        let status = match (partner_id, role) {
            (Some(partner), Role::Coach) => {
                let (active, seats) = lock_seats(conn, partner)?;
                if active < i64::from(seats) {
                    AccountStatus::Active
                } else {
                    AccountStatus::Inactive
                }
            }
            (Some(partner), _) => {
                lock_seats(conn, partner)?;
                AccountStatus::Active
            }
            (None, _) => AccountStatus::Active,
        };
        // One person, one account: a form sent twice, or a second account
        // for the same address, would also leave single sign-on unable to
        // tell them apart.
        if find_by_email(conn, &person.email)?.is_some() {
            return Err(address_taken(&person.email));
        }
        let login = free_login(conn, &person.full_name)?;
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&id),
                users::partner_id.eq(partner_id),
                users::role.eq(role.as_str()),
                users::login.eq(&login),
                users::full_name.eq(&person.full_name),
                users::job_title.eq(&person.job_title),
                users::email.eq(person.email.as_str()),
                users::password_hash.eq(&hash),
                users::must_change_password.eq(true),
                users::status.eq(status.as_str()),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|error| unless_address_taken(error, &person.email))?;
        audit::record(
            conn,
            now,
            Event {
                actor: actor.map(|a| a.id.as_str()),
                partner: partner_id,
                action: Action::AccountCreated,
                object_type: "user",
                object_id: Some(&id),
                address: actor.map(|a| a.address.as_str()),
                details: json!({ "role": role.as_str(), "status": status.as_str() }),
            },
        )?;
        let account = users::table
            .find(&id)
            .select(Account::as_select())
            .first(conn)?;
        Ok((
            account,
            Credentials {
                login,
                password: password.clone(),
            },
        ))
    })
}

/// Activates (or reactivates) an account within the partner's seats.
pub fn activate(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
) -> Result<(), AccountError> {
    conn.transaction(|conn| {
        let account = lock_account(conn, account_id)?;
        let previous = account.status.clone();
        if previous == AccountStatus::Active.as_str() {
            return Ok(());
        }
        if previous == AccountStatus::Deleted.as_str() {
            return Err(AccountError::Deleted);
        }
        if let Some(partner) = &account.partner_id {
            let (active, seats) = lock_seats(conn, partner)?;
            if account.role == Role::Coach.as_str() && active >= i64::from(seats) {
                return Err(AccountError::NoSeat { active, seats });
            }
        }
        set_status(conn, now, &account, AccountStatus::Active)?;
        let action = if previous == AccountStatus::Suspended.as_str() {
            Action::AccountReactivated
        } else {
            Action::AccountActivated
        };
        audit::record(conn, now, account_event(actor, &account, action))?;
        Ok(())
    })
}

/// Deactivates an account: it frees a seat and keeps its history.
pub fn deactivate(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
) -> Result<(), AccountError> {
    conn.transaction(|conn| {
        let account = lock_account(conn, account_id)?;
        if account.status == AccountStatus::Deleted.as_str() {
            return Err(AccountError::Deleted);
        }
        // A form sent twice (or from two tabs) records the change once.
        if account.status == AccountStatus::Inactive.as_str() {
            return Ok(());
        }
        set_status(conn, now, &account, AccountStatus::Inactive)?;
        audit::record(
            conn,
            now,
            account_event(actor, &account, Action::AccountDeactivated),
        )?;
        Ok(())
    })
}

/// Unlinks an account from its identity at the single sign-on provider (a
/// person whose identity there changed): their next sign-in through the
/// provider links it again by their verified email. Their sessions stay.
pub fn unlink_identity(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
) -> Result<(), AccountError> {
    conn.transaction(|conn| {
        let account = lock_account(conn, account_id)?;
        let unlinked = diesel::update(
            users::table
                .find(&account.id)
                .filter(users::sso_subject.is_not_null()),
        )
        .set(users::sso_subject.eq(None::<String>))
        .execute(conn)?;
        if unlinked > 0 {
            audit::record(
                conn,
                now,
                account_event(actor, &account, Action::SsoUnlinked),
            )?;
        }
        Ok(())
    })
}

/// The accounts of a partner linked to an identity at the single sign-on
/// provider.
pub fn linked_to_provider(
    conn: &mut DbConnection,
    partner_id: &str,
) -> Result<HashSet<String>, AccountError> {
    let ids: Vec<String> = users::table
        .filter(users::partner_id.eq(partner_id))
        .filter(users::sso_subject.is_not_null())
        .select(users::id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// Gives an account a new first password, shown once; the person must
/// replace it at next login, and their open sessions end.
pub fn reset_password(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
) -> Result<Credentials, AccountError> {
    let password = password::generate();
    let hash = password::hash(&password).map_err(AccountError::Hash)?;
    conn.transaction(|conn| {
        let account = lock_account(conn, account_id)?;
        if account.status == AccountStatus::Deleted.as_str() {
            return Err(AccountError::Deleted);
        }
        diesel::update(users::table.find(&account.id))
            .set((
                users::password_hash.eq(&hash),
                users::must_change_password.eq(true),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        crate::auth::end_sessions(conn, now, &account.id)?;
        audit::record(
            conn,
            now,
            account_event(actor, &account, Action::PasswordReset),
        )?;
        Ok(Credentials {
            login: account.login.clone(),
            password: password.clone(),
        })
    })
}

/// Deletes an account: its history stays, its personal details are erased,
/// its login is never given to anyone else, and it can no longer sign in.
pub fn delete(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
) -> Result<(), AccountError> {
    conn.transaction(|conn| {
        let account = lock_account(conn, account_id)?;
        if account.status == AccountStatus::Deleted.as_str() {
            return Ok(());
        }
        diesel::update(users::table.find(&account.id))
            .set((
                users::status.eq(AccountStatus::Deleted.as_str()),
                users::full_name.eq(None::<String>),
                users::job_title.eq(None::<String>),
                users::email.eq(None::<String>),
                // Frees the provider's identity for an account created later.
                users::sso_subject.eq(None::<String>),
                // Not a PHC string: no password can ever match it.
                users::password_hash.eq("supprimé"),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        crate::auth::end_sessions(conn, now, &account.id)?;
        audit::record(
            conn,
            now,
            account_event(actor, &account, Action::AccountDeleted),
        )?;
        Ok(())
    })
}

/// What an account says of its person, as a form shows it.
pub struct Details {
    pub full_name: String,
    pub job_title: String,
    pub email: String,
}

pub fn details(conn: &mut DbConnection, account_id: &str) -> Result<Details, AccountError> {
    let (full_name, job_title, email): (Option<String>, Option<String>, Option<String>) =
        users::table
            .find(account_id)
            .select((users::full_name, users::job_title, users::email))
            .first(conn)
            .optional()?
            .ok_or(AccountError::UnknownAccount)?;
    Ok(Details {
        full_name: full_name.unwrap_or_default(),
        job_title: job_title.unwrap_or_default(),
        email: email.unwrap_or_default(),
    })
}

/// Corrects a person's name, function or address (their right of
/// rectification goes through the RGC); the login stays.
pub fn update_person(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
    person: &Person,
) -> Result<(), AccountError> {
    conn.transaction(|conn| {
        let account = lock_account(conn, account_id)?;
        if account.status == AccountStatus::Deleted.as_str() {
            return Err(AccountError::Deleted);
        }
        if find_by_email(conn, &person.email)?.is_some_and(|other| other.id != account.id) {
            return Err(address_taken(&person.email));
        }
        diesel::update(users::table.find(&account.id))
            .set((
                users::full_name.eq(&person.full_name),
                users::job_title.eq(&person.job_title),
                users::email.eq(person.email.as_str()),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|error| unless_address_taken(error, &person.email))?;
        audit::record(
            conn,
            now,
            account_event(actor, &account, Action::AccountUpdated),
        )?;
        Ok(())
    })
}

/// The unique index on addresses (see its migration), which refuses what
/// two requests at once let past `find_by_email`.
const ADDRESS_INDEX: &str = "users_email_unique";

/// A write of `email` refused by the address index is the same refusal as
/// the check before it.
fn unless_address_taken(error: DieselError, email: &EmailAddress) -> AccountError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            // PostgreSQL names the index; SQLite's message does.
            if info.constraint_name() == Some(ADDRESS_INDEX)
                || info.message().contains(ADDRESS_INDEX) =>
        {
            address_taken(email)
        }
        _ => error.into(),
    }
}

pub(crate) fn address_taken(email: &EmailAddress) -> AccountError {
    AccountError::Invalid(format!(
        "L'adresse {} est déjà celle d'un compte relais : chaque compte est celui d'une \
         personne, avec sa propre adresse.",
        email.as_str()
    ))
}

/// An address as accounts keep it and look it up: composed, in lower case.
/// Lowered here rather than by the database: SQLite's lower() leaves
/// accented capitals alone and PostgreSQL's lowers them, so « ÉLISE@… » and
/// « élise@… » were one account on one backend and two on the other. The
/// database lowers the stored side too (addresses written before this were
/// kept as typed), and its unique index lowers what it holds.
pub fn address_key(raw: &str) -> String {
    composed(raw.trim()).to_lowercase()
}

/// Addresses kept as typed before `address_key`, lowered once at start:
/// on SQLite the database's lower() leaves « É » alone, so « ÉLISE@… »
/// would match no lookup, and « élise@… » could become a second account.
/// An address another account already holds in that form stays as it was
/// (the unique index refuses it), logged by account id for an admin to
/// settle. Returns how many were lowered.
pub fn lower_stored_addresses(conn: &mut DbConnection) -> Result<usize, DbError> {
    let stored: Vec<(String, String)> = users::table
        .filter(users::email.is_not_null())
        .select((users::id, users::email.assume_not_null()))
        .load(conn)?;
    let mut lowered = 0;
    for (id, email) in stored {
        let key = address_key(&email);
        if key == email {
            continue;
        }
        match diesel::update(users::table.find(&id))
            .set(users::email.eq(&key))
            .execute(conn)
        {
            Ok(_) => lowered += 1,
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                tracing::warn!(account = %id, "address left as typed: another account holds it in lower case");
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(lowered)
}

/// The accounts, not deleted, holding an address whatever its case: one at
/// most (addresses are unique, see the migration one_account_per_address).
/// The database lowers the stored side too, for addresses kept as typed.
#[diesel::dsl::auto_type(no_type_alias)]
pub(crate) fn holding_address(email: &str) -> _ {
    let key: String = address_key(email);
    let deleted: &'static str = AccountStatus::Deleted.as_str();
    lower(users::email).eq(key).and(users::status.ne(deleted))
}

/// The account of that professional email, whatever its case, if any (not
/// deleted).
pub fn find_by_email(
    conn: &mut DbConnection,
    email: &EmailAddress,
) -> Result<Option<Account>, AccountError> {
    Ok(users::table
        .filter(holding_address(email.as_str()))
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}

/// Active coach accounts and seats of a partner.
pub fn seat_usage(conn: &mut DbConnection, partner_id: &str) -> Result<(i64, i32), AccountError> {
    let seats = partners::table
        .find(partner_id)
        .select(partners::seats)
        .first(conn)
        .optional()?
        .ok_or(AccountError::UnknownPartner)?;
    Ok((active_coaches(conn, partner_id)?, seats))
}

pub fn partner(conn: &mut DbConnection, partner_id: &str) -> Result<Partner, AccountError> {
    partners::table
        .find(partner_id)
        .select(Partner::as_select())
        .first(conn)
        .optional()?
        .ok_or(AccountError::UnknownPartner)
}

/// Why a partner whose agreement leaves out « consultation des offres » is
/// refused the offers (pages and requests alike).
pub const OFFERS_NOT_IN_SCOPE: &str = "La convention de votre structure ne comprend pas la \
    consultation des offres. Demandez à votre responsable de gestion des comptes de faire étendre \
    la convention.";

/// Refuses the offers to a partner's account when its agreement leaves out
/// their consultation; the platform's own accounts always see them.
pub fn check_offers_service(
    conn: &mut DbConnection,
    partner_id: Option<&str>,
) -> Result<(), AccountError> {
    match partner_id {
        Some(partner_id) if !partner(conn, partner_id)?.terms.offers_service => {
            Err(AccountError::OffersNotInScope)
        }
        _ => Ok(()),
    }
}

pub fn find(conn: &mut DbConnection, account_id: &str) -> Result<Account, AccountError> {
    users::table
        .find(account_id)
        .select(Account::as_select())
        .first(conn)
        .optional()?
        .ok_or(AccountError::UnknownAccount)
}

/// The account id of a login.
pub fn id_of_login(conn: &mut DbConnection, login: &str) -> Result<Option<String>, AccountError> {
    // Logins are lower case, and typed as sign-in takes them.
    Ok(users::table
        .filter(users::login.eq(login.trim().to_lowercase()))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// Logins by account id, for showing who did what.
pub fn logins_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<HashMap<String, String>, AccountError> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::login))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn list_for_partner(
    conn: &mut DbConnection,
    partner_id: &str,
) -> Result<Vec<Account>, AccountError> {
    list_for_partners(conn, Some(partner_id))
}

/// The accounts of one partner, or of every partner (the platform's own
/// accounts left out), in one query however many partners there are.
pub fn list_for_partners(
    conn: &mut DbConnection,
    partner_id: Option<&str>,
) -> Result<Vec<Account>, AccountError> {
    let mut accounts = users::table
        .filter(users::partner_id.is_not_null())
        .into_boxed();
    if let Some(partner_id) = partner_id {
        accounts = accounts.filter(users::partner_id.eq(partner_id));
    }
    Ok(accounts
        .order(users::login)
        .select(Account::as_select())
        .load(conn)?)
}

/// Writes before reading: a SQLite transaction that reads first cannot wait
/// for another writer later, and a PostgreSQL one holds the row from here on.
pub(crate) fn lock_account(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<Account, AccountError> {
    let locked = diesel::update(users::table.find(account_id))
        .set(users::updated_at.eq(users::updated_at))
        .execute(conn)?;
    if locked == 0 {
        return Err(AccountError::UnknownAccount);
    }
    find(conn, account_id)
}

pub(crate) fn account_event<'a>(
    actor: Option<&'a Actor>,
    account: &'a Account,
    action: Action,
) -> Event<'a> {
    Event {
        actor: actor.map(|a| a.id.as_str()),
        partner: account.partner_id.as_deref(),
        action,
        object_type: "user",
        object_id: Some(&account.id),
        address: actor.map(|a| a.address.as_str()),
        details: json!({ "role": account.role }),
    }
}

pub(crate) fn set_status(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    account: &Account,
    status: AccountStatus,
) -> Result<(), AccountError> {
    let row = users::table.find(&account.id);
    let changed = (users::status.eq(status.as_str()), users::updated_at.eq(now));
    if status == AccountStatus::Active {
        // Idle time counts again from now: the inactivity job would
        // otherwise suspend a reactivated account at its next run.
        diesel::update(row)
            .set((changed, users::activated_at.eq(now)))
            .execute(conn)?;
    } else {
        diesel::update(row).set(changed).execute(conn)?;
        crate::auth::end_sessions(conn, now, &account.id)?;
    }
    Ok(())
}

fn active_coaches(conn: &mut DbConnection, partner_id: &str) -> Result<i64, AccountError> {
    Ok(users::table
        .filter(users::partner_id.eq(partner_id))
        .filter(users::role.eq(Role::Coach.as_str()))
        .filter(users::status.eq(AccountStatus::Active.as_str()))
        .count()
        .get_result(conn)?)
}

/// Takes the partner's row lock (a no-op update: a row lock on PostgreSQL,
/// the write lock on SQLite) so that concurrent activations count seats one
/// after the other, then counts them.
pub(crate) fn lock_seats(
    conn: &mut DbConnection,
    partner_id: &str,
) -> Result<(i64, i32), AccountError> {
    let locked = diesel::update(partners::table.find(partner_id))
        .set(partners::seats.eq(partners::seats))
        .execute(conn)?;
    if locked == 0 {
        return Err(AccountError::UnknownPartner);
    }
    seat_usage(conn, partner_id)
}

/// "Jeanne-Marie Dupré" → "jdupre", then "jdupre2"… never one used before,
/// even by a deleted account. An apostrophe joins what it elides to its
/// word: "Paul N'Guessan" → "pnguessan".
fn free_login(conn: &mut DbConnection, full_name: &str) -> Result<String, AccountError> {
    let folded = fold(&full_name.replace(['\'', '’'], ""));
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut stem = match words.as_slice() {
        [] => "compte".to_owned(),
        [only] => (*only).to_owned(),
        [first, .., last] => format!("{}{last}", &first[..1]),
    };
    stem.truncate(MAX_LOGIN_STEM);
    let taken: Vec<String> = users::table
        .filter(users::login.like(format!("{stem}%")))
        .select(users::login)
        .load(conn)?;
    let candidate = std::iter::once(stem.clone())
        .chain((2..).map(|n| format!("{stem}{n}")))
        .find(|login| !taken.contains(login))
        .unwrap_or(stem);
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;

    /// A platform admin's account, as the command line creates one.
    fn admin(conn: &mut DbConnection, email: &str) -> Account {
        let person = Person::parse("Louise Garnier", "Admin", email).unwrap();
        create_account(
            conn,
            NaiveDateTime::default(),
            None,
            None,
            Role::Admin,
            &person,
        )
        .unwrap()
        .0
    }

    /// SQLite names the index in its message only: a write the index
    /// refuses is the French refusal there too (PostgreSQL's side is
    /// raced in tests/api/accounts.rs).
    #[test]
    fn sqlite_refusing_an_address_twice_is_the_same_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::in_folder(dir.path());
        let mut conn = database.connection().unwrap();
        admin(&mut conn, "louise@ft.example");
        let other = admin(&mut conn, "autre@ft.example");
        let taken = EmailAddress::parse("Louise@FT.example").unwrap();
        let refused = diesel::update(users::table.find(&other.id))
            .set(users::email.eq(taken.as_str()))
            .execute(&mut conn)
            .unwrap_err();
        let refusal = unless_address_taken(refused, &taken).to_string();
        assert!(
            refusal.contains("est déjà celle d'un compte relais"),
            "{refusal}"
        );
    }

    /// On SQLite, accented capitals kept as typed before `address_key`
    /// matched no lookup; they are lowered at start, but for an address
    /// another account holds in lower case.
    #[test]
    fn addresses_kept_as_typed_are_lowered_once() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::in_folder(dir.path());
        let mut conn = database.connection().unwrap();
        let mut kept_as_typed = |email: &str, as_typed: &str| {
            let id = admin(&mut conn, email).id;
            diesel::update(users::table.find(&id))
                .set(users::email.eq(as_typed))
                .execute(&mut conn)
                .unwrap();
            id
        };
        let elise = kept_as_typed("elise@ft.example", "ÉLISE.Martin@FT.example");
        let emile = kept_as_typed("emile@ft.example", "ÉMILE@ft.example");
        kept_as_typed("emile2@ft.example", "émile@ft.example");
        let find = |conn: &mut DbConnection, email: &str| {
            find_by_email(conn, &EmailAddress::parse(email).unwrap())
                .unwrap()
                .map(|account| account.id)
        };
        assert_eq!(find(&mut conn, "élise.martin@ft.example"), None, "before");

        assert_eq!(lower_stored_addresses(&mut conn).unwrap(), 1);
        assert_eq!(find(&mut conn, "Élise.MARTIN@ft.example"), Some(elise));
        let kept: Option<String> = users::table
            .find(&emile)
            .select(users::email)
            .first(&mut conn)
            .unwrap();
        assert_eq!(
            kept.as_deref(),
            Some("ÉMILE@ft.example"),
            "taken in lower case"
        );
        assert_eq!(lower_stored_addresses(&mut conn).unwrap(), 0, "once");
    }

    #[test]
    fn seats_are_counted_in_good_french() {
        assert_eq!(active_accounts(1), "1 compte actif");
        assert_eq!(active_accounts(2), "2 comptes actifs");
        let refusal = |active, seats| AccountError::NoSeat { active, seats }.to_string();
        assert!(refusal(6, 6).starts_with(
            "Les 6 comptes autorisés par la convention sont déjà actifs (6 sur 6). Désactivez"
        ));
        assert!(
            refusal(1, 1)
                .starts_with("Le compte autorisé par la convention est déjà actif. Désactivez")
        );
        assert!(refusal(0, 0).contains("n'autorise aucun compte actif en dehors du RGC"));
    }

    #[test]
    fn people_need_a_name_and_an_email() {
        assert!(Person::parse("", "Conseillère", "a@b.fr").is_err());
        assert!(Person::parse("Awa Diallo", "Conseillère", "pas-une-adresse").is_err());
        assert!(Person::parse("Awa Diallo", "", "awa.diallo@plie.example").is_ok());
    }
}
