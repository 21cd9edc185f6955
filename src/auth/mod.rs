//! Local login, single sign-on (`sso`), server-side sessions and throttling.
//!
//! An unknown login and a wrong password get the same answer. Failed
//! attempts are counted per login and per address; past a threshold each new
//! failure doubles the wait. A session ends after its idle timeout, after its
//! absolute lifetime, or at once when its account stops being active or its
//! partner's agreement is over.

pub mod sso;

use std::sync::OnceLock;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::accounts::{self, Account, AccountError, AccountStatus, Role, password};
use crate::audit::{self, Action, Event};
use crate::config::SessionSettings;
use crate::db::schema::{login_attempts, partners, sessions, users};
use crate::db::{DbConnection, DbError};
use crate::secrets;
use crate::text::quantity;

/// The sign-in page (mails send people there).
pub const LOGIN_PATH: &str = "/connexion";

/// Failures counted over this window.
const THROTTLE_WINDOW_MINUTES: i64 = 15;
const FREE_FAILURES_PER_LOGIN: i64 = 5;
const FREE_FAILURES_PER_ADDRESS: i64 = 20;
const MAX_WAIT_MINUTES: i64 = 60;
/// Activity is written at most this often per session.
const ACTIVITY_PRECISION_SECONDS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Identifiant ou mot de passe incorrect.")]
    Rejected,
    #[error(
        "Trop de tentatives de connexion infructueuses. Réessayez dans {}.",
        quantity(minutes.unsigned_abs(), "minute", "minutes")
    )]
    Throttled { minutes: i64 },
    #[error(
        "Votre compte n'est pas actif. Adressez-vous au responsable de gestion des comptes (RGC) \
         de votre structure pour qu'il l'active."
    )]
    Inactive,
    /// The RGC cannot reactivate itself: the platform admins can.
    #[error(
        "Votre compte de RGC n'est pas actif. Adressez-vous à l'administrateur de relais \
         (direction territoriale) pour qu'il l'active."
    )]
    InactiveRgc,
    #[error(
        "La convention de votre structure ouvre l'accès du {start} au {end} : \
         relais n'est pas accessible en dehors de ces dates."
    )]
    OutsideAgreement { start: String, end: String },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for LoginError {
    fn from(error: diesel::result::Error) -> Self {
        LoginError::Database(error.into())
    }
}

/// Idle timeout and absolute lifetime.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub lifetime: Duration,
}

impl From<&SessionSettings> for SessionPolicy {
    fn from(settings: &SessionSettings) -> Self {
        SessionPolicy {
            idle: Duration::minutes(settings.idle_timeout_minutes.get().into()),
            lifetime: Duration::hours(settings.absolute_lifetime_hours.get().into()),
        }
    }
}

/// How a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    Sso,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Sso => "sso",
        }
    }
}

/// What decides whether an account may open a session.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct Holder {
    pub id: String,
    pub partner_id: Option<String>,
    pub role: String,
    pub status: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Credentials {
    #[diesel(embed)]
    holder: Holder,
    password_hash: String,
}

/// Checks a login and opens a session; returns its token (for the cookie).
pub fn login(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    login: &str,
    given_password: &str,
    address: &str,
) -> Result<(String, Account), LoginError> {
    // Logins are made in lower case; a phone's keyboard capitalises the
    // first letter. Throttling counts the same login whatever its case.
    let login = &login.trim().to_lowercase();
    if let Some(minutes) = wait_before_next_attempt(conn, now, login, address)? {
        return Err(LoginError::Throttled { minutes });
    }
    let found: Option<Credentials> = users::table
        .filter(users::login.eq(login))
        .select(Credentials::as_select())
        .first(conn)
        .optional()?;
    // Verify even without an account, so that timing does not tell logins apart.
    let matches = match &found {
        Some(credentials) => password::verify(given_password, &credentials.password_hash),
        None => password::verify(given_password, decoy_hash()),
    };
    let Some(credentials) = found.filter(|_| matches) else {
        record_attempt(conn, now, login, address, false)?;
        audit::record(
            conn,
            now,
            login_event(None, None, Action::LoginFailed, address),
        )?;
        return Err(LoginError::Rejected);
    };
    record_attempt(conn, now, login, address, true)?;
    conn.transaction(|conn| {
        open_session(
            conn,
            now,
            &credentials.holder,
            address,
            SignInMethod::Password,
        )
    })
}

/// Opens a session for an account that proved who it is, if the account may
/// sign in: active, and within its partner's agreement. The same rules for
/// every way of signing in. Runs in the caller's transaction, which a
/// refusal rolls back.
pub(crate) fn open_session(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    holder: &Holder,
    address: &str,
    method: SignInMethod,
) -> Result<(String, Account), LoginError> {
    if holder.status != AccountStatus::Active.as_str() {
        return Err(if holder.role == Role::Rgc.as_str() {
            LoginError::InactiveRgc
        } else {
            LoginError::Inactive
        });
    }
    // Write first, the agreement checked after (the caller's transaction
    // undoes the session if it refuses): a SQLite transaction that has read
    // fails at once on its first write while another connection writes.
    let token = secrets::random_token();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(secrets::digest(&token)),
            sessions::user_id.eq(&holder.id),
            sessions::address.eq(address),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::method.eq(method.as_str()),
        ))
        .execute(conn)?;
    if let Some(partner) = &holder.partner_id {
        check_agreement(conn, now, partner)?;
    }
    diesel::update(users::table.find(&holder.id))
        .set(users::last_activity_at.eq(now))
        .execute(conn)?;
    let mut event = login_event(
        Some(&holder.id),
        holder.partner_id.as_deref(),
        Action::LoginSucceeded,
        address,
    );
    event.details = json!({ "method": method.as_str() });
    audit::record(conn, now, event)?;
    let account = accounts::find(conn, &holder.id).map_err(|e| match e {
        AccountError::Database(e) => LoginError::Database(e),
        _ => LoginError::Rejected,
    })?;
    Ok((token, account))
}

/// The account behind a session token, if the session is still valid.
pub fn resolve(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    policy: SessionPolicy,
    token: &str,
) -> Result<Option<Account>, DbError> {
    let id = secrets::digest(token);
    let session: Option<(String, NaiveDateTime, NaiveDateTime, String)> = sessions::table
        .find(&id)
        .filter(sessions::ended_at.is_null())
        .select((
            sessions::user_id,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::method,
        ))
        .first(conn)
        .optional()?;
    let Some((user_id, created_at, last_seen_at, method)) = session else {
        return Ok(None);
    };
    let expired = now - last_seen_at > policy.idle || now - created_at > policy.lifetime;
    let mut account = match accounts::find(conn, &user_id) {
        Ok(account) => account,
        Err(AccountError::Database(e)) => return Err(e),
        Err(_) => return Ok(None),
    };
    let usable = account.status == AccountStatus::Active.as_str()
        && match &account.partner_id {
            Some(partner) => check_agreement(conn, now, partner).is_ok(),
            None => true,
        };
    if expired || !usable {
        end_session(conn, now, &id)?;
        return Ok(None);
    }
    // Someone who signed in through their provider never typed the first
    // password the RGC handed over: relais does not make them replace it.
    if method == SignInMethod::Sso.as_str() {
        account.must_change_password = false;
    }
    if (now - last_seen_at).num_seconds() >= ACTIVITY_PRECISION_SECONDS {
        diesel::update(sessions::table.find(&id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
        diesel::update(users::table.find(&user_id))
            .set(users::last_activity_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(account))
}

/// Addresses of the account's live sessions: more than one means the login
/// is used from several places at once, which the agreement forbids.
pub fn live_addresses(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    policy: SessionPolicy,
    user_id: &str,
) -> Result<Vec<String>, DbError> {
    let mut addresses: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::last_seen_at.gt(now - policy.idle))
        .filter(sessions::created_at.gt(now - policy.lifetime))
        .select(sessions::address)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect();
    addresses.sort();
    addresses.dedup();
    Ok(addresses)
}

/// Ends the session of this token (logout).
pub fn logout(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    token: &str,
    address: &str,
) -> Result<(), DbError> {
    let id = secrets::digest(token);
    let user: Option<(String, Option<String>)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(&id))
        .select((users::id, users::partner_id))
        .first(conn)
        .optional()?;
    end_session(conn, now, &id)?;
    if let Some((user_id, partner_id)) = user {
        audit::record(
            conn,
            now,
            login_event(
                Some(&user_id),
                partner_id.as_deref(),
                Action::Logout,
                address,
            ),
        )?;
    }
    Ok(())
}

/// Ends every open session of an account (deactivation, suspension, deletion).
pub fn end_sessions(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: &str,
) -> Result<(), DbError> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Replaces a password after checking the current one and the rules.
pub fn change_password(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    account: &Account,
    current: &str,
    new: &str,
) -> Result<(), PasswordChangeError> {
    let stored: String = users::table
        .find(&account.id)
        .select(users::password_hash)
        .first(conn)
        .map_err(DbError::from)?;
    if !password::verify(current, &stored) {
        return Err(PasswordChangeError::WrongCurrent);
    }
    if current == new {
        return Err(PasswordChangeError::Unchanged);
    }
    password::check(&account.login, new)?;
    let hash = password::hash(new).map_err(PasswordChangeError::Hash)?;
    conn.transaction(|conn| {
        diesel::update(users::table.find(&account.id))
            .set((
                users::password_hash.eq(hash),
                users::must_change_password.eq(false),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            Event {
                actor: Some(&account.id),
                partner: account.partner_id.as_deref(),
                action: Action::PasswordChanged,
                object_type: "user",
                object_id: Some(&account.id),
                address: None,
                details: json!({}),
            },
        )?;
        Ok::<_, DbError>(())
    })?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("Le mot de passe actuel est incorrect.")]
    WrongCurrent,
    #[error("Le nouveau mot de passe doit différer de l'actuel.")]
    Unchanged,
    #[error(transparent)]
    Rule(#[from] password::PasswordRule),
    #[error("le mot de passe n'a pas pu être chiffré : {0}")]
    Hash(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// The hash of a random password: verifying against it costs the same as
/// against a real one.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| password::hash(&password::generate()).unwrap_or_default())
}

fn end_session(conn: &mut DbConnection, now: NaiveDateTime, id: &str) -> Result<(), DbError> {
    diesel::update(sessions::table.find(id))
        .set(sessions::ended_at.eq(now))
        .execute(conn)?;
    Ok(())
}

fn check_agreement(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    partner_id: &str,
) -> Result<(), LoginError> {
    let (start, end): (chrono::NaiveDate, chrono::NaiveDate) = partners::table
        .find(partner_id)
        .select((partners::agreement_start, partners::agreement_end))
        .first(conn)?;
    if !accounts::within_agreement(start, end, now) {
        return Err(LoginError::OutsideAgreement {
            start: start.format("%d/%m/%Y").to_string(),
            end: end.format("%d/%m/%Y").to_string(),
        });
    }
    Ok(())
}

fn login_event<'a>(
    actor: Option<&'a str>,
    partner: Option<&'a str>,
    action: Action,
    address: &'a str,
) -> Event<'a> {
    Event {
        actor,
        partner,
        action,
        object_type: "session",
        object_id: actor,
        address: Some(address),
        details: json!({}),
    }
}

fn record_attempt(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    login: &str,
    address: &str,
    succeeded: bool,
) -> Result<(), DbError> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(uuid::Uuid::new_v4().to_string()),
            login_attempts::login.eq(login),
            login_attempts::address.eq(address),
            login_attempts::at.eq(now),
            login_attempts::succeeded.eq(succeeded),
        ))
        .execute(conn)?;
    Ok(())
}

/// Minutes to wait, when failures since the last success pass a threshold:
/// one minute, then two, four… up to an hour.
fn wait_before_next_attempt(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    login: &str,
    address: &str,
) -> Result<Option<i64>, DbError> {
    let since = now - Duration::minutes(THROTTLE_WINDOW_MINUTES);
    // One read of the recent failures for this login or this address, newest first.
    let failures: Vec<(String, String, NaiveDateTime)> = login_attempts::table
        .filter(login_attempts::succeeded.eq(false))
        .filter(login_attempts::at.gt(since))
        .filter(
            login_attempts::login
                .eq(login)
                .or(login_attempts::address.eq(address)),
        )
        .order(login_attempts::at.desc())
        .select((
            login_attempts::login,
            login_attempts::address,
            login_attempts::at,
        ))
        .load(conn)?;
    let by_login: Vec<NaiveDateTime> = failures
        .iter()
        .filter(|(l, _, _)| l == login)
        .map(|(_, _, at)| *at)
        .collect();
    let by_address: Vec<NaiveDateTime> = failures
        .iter()
        .filter(|(_, a, _)| a == address)
        .map(|(_, _, at)| *at)
        .collect();
    let wait = |failures: &[NaiveDateTime], free: i64| -> Option<i64> {
        let excess = i64::try_from(failures.len()).ok()? - free;
        if excess < 0 {
            return None;
        }
        let minutes = (1_i64 << excess.min(6)).min(MAX_WAIT_MINUTES);
        let until = *failures.first()? + Duration::minutes(minutes);
        (until > now).then(|| (until - now).num_minutes().max(1))
    };
    Ok(wait(&by_login, FREE_FAILURES_PER_LOGIN).max(wait(&by_address, FREE_FAILURES_PER_ADDRESS)))
}
