//! The demo data set `relais demo` loads into an empty database: generated
//! offers of the Pays d'Aix, and a demo partner with its people. Demo
//! addresses use the reserved `.invalid` domain: no mail can reach anyone.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::accounts::{self, AccountError, PartnerTerms, Person, Role};
use crate::db::DbConnection;
use crate::mail::EmailAddress;
use crate::offers::{self, IngestError, demo_data};

/// Offers loaded into an empty database.
pub const DEMO_OFFERS: usize = 5_000;
pub const DEMO_PARTNER: &str = "PLIE du Pays d'Aix (démo)";

/// (role label, role, name, function, email)
const PEOPLE: [(&str, Role, &str, &str, &str); 5] = [
    (
        "administratrice",
        Role::Admin,
        "Louise Garnier",
        "Administratrice de la plateforme",
        "louise.garnier@demo.relais.invalid",
    ),
    (
        "RGC",
        Role::Rgc,
        "Rachid Benali",
        "Responsable de gestion des comptes",
        "rachid.benali@demo.relais.invalid",
    ),
    (
        "accompagnatrice",
        Role::Coach,
        "Awa Diallo",
        "Accompagnatrice emploi",
        "awa.diallo@demo.relais.invalid",
    ),
    (
        "accompagnateur",
        Role::Coach,
        "Bruno Martin",
        "Conseiller médiateur",
        "bruno.martin@demo.relais.invalid",
    ),
    (
        "accompagnatrice",
        Role::Coach,
        "Chloé Petit",
        "Accompagnatrice emploi",
        "chloe.petit@demo.relais.invalid",
    ),
];

/// The demo's "now": the start of today (UTC), so that a seed gives the same
/// offers all day long, each dated within the 60 days before it.
pub fn anchor() -> DateTime<Utc> {
    Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Loads the generated offers when there are none (one transaction, well
/// under a second); returns how many there are.
pub fn load_offers(
    conn: &mut DbConnection,
    agencies: &HashSet<String>,
) -> Result<i64, IngestError> {
    if offers::store::count(conn)? == 0 {
        let documents = demo_data::DemoOffers::new(DEMO_OFFERS, 1, anchor());
        offers::in_batches(documents.map(Ok), offers::INGEST_BATCH, |batch| {
            offers::ingest_many(conn, agencies, batch, Utc::now().naive_utc(), |outcome| {
                outcome.map(|_| ()).map_err(IngestError::Invalid)
            })
        })?;
    }
    Ok(offers::store::count(conn)?)
}

/// A demo person's login and fresh first password.
pub struct DemoLogin {
    pub role: &'static str,
    pub login: String,
    pub password: String,
}

/// Creates the demo partner and people on first start; on every start gives
/// each a new first password, so that the demo can print them.
pub fn load_people(conn: &mut DbConnection) -> Result<Vec<DemoLogin>, AccountError> {
    let now = Utc::now().naive_utc();
    let today = now.date();
    let mut partner_id = None;
    let mut logins = Vec::new();
    for (label, role, name, function, email) in PEOPLE {
        let address =
            EmailAddress::parse(email).ok_or_else(|| AccountError::Invalid(email.to_owned()))?;
        let credentials = match accounts::find_by_email(conn, &address)? {
            Some(account) => {
                partner_id = partner_id.or(account.partner_id.clone());
                accounts::reset_password(conn, now, None, &account.id)?
            }
            None => {
                let partner = match (role, &partner_id) {
                    (Role::Admin, _) => None,
                    (_, Some(id)) => Some(id.clone()),
                    (_, None) => {
                        let terms = PartnerTerms {
                            name: DEMO_PARTNER.to_owned(),
                            agency_code: "13013".to_owned(),
                            agreement_start: today - Duration::days(365),
                            agreement_end: today + Duration::days(3 * 365),
                            seats: 6,
                            offers_service: true,
                            referrals_service: true,
                        };
                        let id = accounts::create_partner(conn, now, None, &terms)?.id;
                        partner_id = Some(id.clone());
                        Some(id)
                    }
                };
                let person = Person::parse(name, function, email)?;
                accounts::create_account(conn, now, None, partner.as_deref(), role, &person)?.1
            }
        };
        logins.push(DemoLogin {
            role: label,
            login: credentials.login,
            password: credentials.password,
        });
    }
    Ok(logins)
}
