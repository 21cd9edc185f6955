//! The platform admin's side: registering partners, changing their terms,
//! designating or replacing their RGC. A partner always has exactly one RGC.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::{
    Account, AccountError, AccountStatus, Credentials, MAX_NAME, Partner, PartnerTerms, Person,
    Role, account_event, address_taken, create_account, find_by_email, lock_account, lock_seats,
    set_status, within_agreement,
};
use crate::audit::{self, Action, Actor, Event};
use crate::clock::in_paris;
use crate::db::DbConnection;
use crate::db::schema::{agencies, partners, users};
use crate::text::fold;

/// What becomes of the RGC being replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousRgc {
    /// A plain account of the partner (active if a seat is free).
    Coach,
    /// Deactivated, its history kept.
    Deactivated,
}

/// Who became the partner's RGC.
#[derive(Debug)]
pub enum Designated {
    /// A new account: its login and first password, shown once.
    New(Credentials),
    /// One of the partner's accounts, which keeps its login and password.
    Promoted { login: String },
}

/// A partner as the admin's list shows it.
pub struct PartnerSummary {
    pub partner: Partner,
    pub active: i64,
    /// Its RGC (none only while a partner is being registered).
    pub rgc: Option<Account>,
}

/// The terms as given, trimmed, if they hold; `id` is the partner they
/// change, none for a new one.
fn checked(
    conn: &mut DbConnection,
    terms: &PartnerTerms,
    id: Option<&str>,
) -> Result<PartnerTerms, AccountError> {
    let terms = PartnerTerms {
        name: terms.name.trim().to_owned(),
        ..terms.clone()
    };
    if terms.name.is_empty() || terms.name.chars().count() > MAX_NAME {
        return Err(AccountError::Invalid(format!(
            "Le nom de la structure est obligatoire ({MAX_NAME} caractères au plus)."
        )));
    }
    // Two partners of one name could not be told apart in any list, nor
    // « ÉTAPE Insertion » from « Étape-Insertion ».
    let name = fold(&terms.name);
    let others: Vec<(String, String)> = partners::table
        .select((partners::id, partners::name))
        .load(conn)?;
    if others
        .iter()
        .any(|(other, other_name)| Some(other.as_str()) != id && fold(other_name) == name)
    {
        return Err(AccountError::Invalid(format!(
            "Une structure s'appelle déjà « {} » : choisissez un autre nom, ou modifiez la sienne.",
            terms.name
        )));
    }
    if terms.agreement_end < terms.agreement_start {
        return Err(AccountError::Invalid(
            "La fin de la convention doit suivre son début.".to_owned(),
        ));
    }
    if !(0..=1000).contains(&terms.seats) {
        return Err(AccountError::Invalid(
            "Le nombre de comptes actifs autorisés va de 0 à 1000.".to_owned(),
        ));
    }
    let known: i64 = agencies::table
        .find(&terms.agency_code)
        .count()
        .get_result(conn)?;
    if known == 0 {
        return Err(AccountError::Invalid(format!(
            "Agence « {} » inconnue.",
            terms.agency_code
        )));
    }
    Ok(terms)
}

fn partner_event<'a>(
    actor: Option<&'a Actor>,
    id: &'a str,
    action: Action,
    terms: &PartnerTerms,
) -> Event<'a> {
    Event {
        actor: actor.map(|a| a.id.as_str()),
        partner: Some(id),
        action,
        object_type: "partner",
        object_id: Some(id),
        address: actor.map(|a| a.address.as_str()),
        details: json!({ "seats": terms.seats, "agency": terms.agency_code }),
    }
}

/// Registers a partner.
pub fn create_partner(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    terms: &PartnerTerms,
) -> Result<Partner, AccountError> {
    let terms = checked(conn, terms, None)?;
    // Its accounts could never sign in.
    if terms.agreement_end < in_paris(now).date() {
        return Err(AccountError::Invalid(
            "La convention est déjà terminée : vérifiez sa date de fin.".to_owned(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    conn.transaction(|conn| {
        diesel::insert_into(partners::table)
            .values((partners::id.eq(&id), &terms, partners::created_at.eq(now)))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            partner_event(actor, &id, Action::PartnerCreated, &terms),
        )?;
        super::partner(conn, &id)
    })
}

/// Registers a partner with its RGC, together: a partner always has one.
pub fn register_partner(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    terms: &PartnerTerms,
    rgc: &Person,
) -> Result<Credentials, AccountError> {
    conn.transaction(|conn| {
        let partner = create_partner(conn, now, actor, terms)?;
        let (_, credentials) = create_account(conn, now, actor, Some(&partner.id), Role::Rgc, rgc)?;
        Ok(credentials)
    })
}

/// Changes a partner's terms. Seats cannot drop below the accounts active
/// now: the RGC deactivates some first.
pub fn update_partner(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    id: &str,
    terms: &PartnerTerms,
) -> Result<Partner, AccountError> {
    let terms = checked(conn, terms, Some(id))?;
    conn.transaction(|conn| {
        let (active, _) = lock_seats(conn, id)?;
        let before = super::partner(conn, id)?.terms;
        if i64::from(terms.seats) < active {
            return Err(AccountError::Invalid(format!(
                "La structure a {} : le nombre autorisé ne peut pas descendre en dessous. \
                 Demandez au RGC d'en désactiver d'abord.",
                super::active_accounts(active)
            )));
        }
        diesel::update(partners::table.find(id))
            .set(&terms)
            .execute(conn)?;
        // An agreement that opens again: a warning given before it closed
        // named a date nobody could sign in by. The inactivity job warns
        // its people afresh, with `warning_days` ahead.
        let open = |terms: &PartnerTerms| {
            within_agreement(terms.agreement_start, terms.agreement_end, now)
        };
        if !open(&before) && open(&terms) {
            diesel::update(users::table.filter(users::partner_id.eq(id)))
                .set(users::inactivity_warned_at.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        audit::record(
            conn,
            now,
            partner_event(actor, id, Action::PartnerUpdated, &terms),
        )?;
        super::partner(conn, id)
    })
}

/// Every partner's id and name, in alphabetical order, accents aside: for
/// choosing one, without the seat counts `list_partners` computes.
pub fn partner_names(conn: &mut DbConnection) -> Result<Vec<(String, String)>, AccountError> {
    let mut names: Vec<(String, String)> = partners::table
        .select((partners::id, partners::name))
        .load(conn)?;
    names.sort_by_cached_key(|(_, name)| fold(name));
    Ok(names)
}

pub fn list_partners(conn: &mut DbConnection) -> Result<Vec<PartnerSummary>, AccountError> {
    let mut all: Vec<Partner> = partners::table.select(Partner::as_select()).load(conn)?;
    // Accents aside: « Étape » among the E, not after Z.
    all.sort_by_cached_key(|partner| fold(&partner.terms.name));
    let mut summaries = Vec::with_capacity(all.len());
    for partner in all {
        let (active, _) = super::seat_usage(conn, &partner.id)?;
        let rgc = current_rgc(conn, &partner.id)?;
        summaries.push(PartnerSummary {
            partner,
            active,
            rgc,
        });
    }
    Ok(summaries)
}

/// The partner's RGC (none only while a partner is being registered).
pub fn current_rgc(
    conn: &mut DbConnection,
    partner_id: &str,
) -> Result<Option<Account>, AccountError> {
    Ok(users::table
        .filter(users::partner_id.eq(partner_id))
        .filter(users::role.eq(Role::Rgc.as_str()))
        .filter(users::status.ne(AccountStatus::Deleted.as_str()))
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}

/// Designates a partner's RGC: a new account for the person; the previous
/// RGC, if any, becomes a plain account or is deactivated.
pub fn replace_rgc(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    partner_id: &str,
    person: &Person,
    previous: PreviousRgc,
) -> Result<Designated, AccountError> {
    conn.transaction(|conn| {
        lock_seats(conn, partner_id)?;
        let current = current_rgc(conn, partner_id)?;
        // One of the partner's people who already has an account (a coach
        // taking over) becomes its RGC as they are: one person, one account.
        let promoted = match find_by_email(conn, &person.email)? {
            Some(account) if current.as_ref().is_some_and(|rgc| rgc.id == account.id) => {
                return Err(AccountError::Invalid(format!(
                    "{} est déjà le RGC de la structure ({}).",
                    person.email.as_str(),
                    account.login
                )));
            }
            Some(account)
                if account.partner_id.as_deref() == Some(partner_id)
                    && account.role == Role::Coach.as_str() =>
            {
                Some(promote(conn, now, actor, &account.id)?)
            }
            Some(_) => return Err(address_taken(&person.email)),
            None => None,
        };
        if let Some(old) = current {
            let old = change_role(conn, now, actor, &old.id, Role::Coach)?;
            let (active, seats) = super::seat_usage(conn, partner_id)?;
            // A former RGC counts as a coach now: without a free seat it is deactivated.
            let keep = previous == PreviousRgc::Coach
                && old.status == AccountStatus::Active.as_str()
                && active <= i64::from(seats);
            if !keep && old.status == AccountStatus::Active.as_str() {
                set_status(conn, now, &old, AccountStatus::Inactive)?;
                audit::record(
                    conn,
                    now,
                    account_event(actor, &old, Action::AccountDeactivated),
                )?;
            }
        }
        match promoted {
            Some(login) => Ok(Designated::Promoted { login }),
            None => {
                let (_, credentials) =
                    create_account(conn, now, actor, Some(partner_id), Role::Rgc, person)?;
                Ok(Designated::New(credentials))
            }
        }
    })
}

/// The account, as it was before, now in `role`.
fn change_role(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
    role: Role,
) -> Result<Account, AccountError> {
    let account = lock_account(conn, account_id)?;
    diesel::update(users::table.find(&account.id))
        .set((users::role.eq(role.as_str()), users::updated_at.eq(now)))
        .execute(conn)?;
    audit::record(
        conn,
        now,
        account_event(actor, &account, Action::RoleChanged),
    )?;
    Ok(account)
}

/// A coach made RGC, active (an RGC takes no seat); its login.
fn promote(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: Option<&Actor>,
    account_id: &str,
) -> Result<String, AccountError> {
    let account = change_role(conn, now, actor, account_id, Role::Rgc)?;
    if account.status != AccountStatus::Active.as_str() {
        set_status(conn, now, &account, AccountStatus::Active)?;
        audit::record(
            conn,
            now,
            account_event(actor, &account, Action::AccountActivated),
        )?;
    }
    Ok(account.login)
}
