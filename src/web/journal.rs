//! The audit trail as pages: the RGC sees its partner's, the platform admin
//! everyone's, filtered by partner, action and dates.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::layout;
use super::session::{Csrf, SignedIn};
use crate::accounts::{self, AccountError, Role};
use crate::audit::{self, Action, Filter, Record};
use crate::clock::{day_start_in_paris, in_paris, parse_day};
use crate::db::Database;
use crate::text::quantity;

/// Records shown at most: filters narrow the rest down.
const LIMIT: i64 = 500;

#[derive(Deserialize)]
pub struct Query {
    action: Option<String>,
    du: Option<String>,
    au: Option<String>,
    structure: Option<String>,
    personne: Option<String>,
}

struct Rows {
    records: Vec<Record>,
    logins: HashMap<String, String>,
    partners: Vec<(String, String)>,
}

fn parse_filter(query: &Query) -> Result<Filter, String> {
    let date = |raw: &Option<String>, what: &str| -> Result<Option<NaiveDate>, String> {
        match raw.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => Ok(None),
            Some(raw) => parse_day(raw)
                .map(Some)
                .ok_or_else(|| format!("La date « {what} » est attendue au format jj/mm/aaaa.")),
        }
    };
    let action = match query.action.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => Some(
            Action::parse(raw)
                .ok_or("Action inconnue.")?
                .as_str()
                .to_owned(),
        ),
    };
    let (from, to) = (date(&query.du, "du")?, date(&query.au, "au")?);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err("La date « du » doit précéder la date « au » (ou être la même).".to_owned());
    }
    Ok(Filter {
        partner: query.structure.clone().filter(|s| !s.is_empty()),
        person: None,
        action,
        // Days as counted in Paris; "au" includes that whole day.
        from: from.map(day_start_in_paris),
        to: to.and_then(|d| d.succ_opt()).map(day_start_in_paris),
    })
}

fn is_selected(value: &str, current: &Option<String>) -> bool {
    current.as_deref() == Some(value)
}

fn page(rows: &Rows, query: &Query, admin: bool, error: Option<&str>) -> Markup {
    html! {
        h1 { "Journal des opérations" }
        p.hint { "Qui a fait quoi, quand, sur quel objet, d'où. Les " (LIMIT) " opérations les plus récentes qui répondent aux critères." }
        @if let Some(error) = error { (layout::message(error, true)) }
        form.filters method="get" {
            @if admin {
                label for="structure" { "Structure" }
                select #structure name="structure" {
                    option value="" { "toutes" }
                    @for (id, name) in &rows.partners {
                        option value=(id) selected[is_selected(id, &query.structure)] { (name) }
                    }
                }
            }
            label for="personne" { "Personne (identifiant)" }
            input #personne name="personne" type="text" value=(query.personne.as_deref().unwrap_or(""));
            label for="action" { "Action" }
            select #action name="action" {
                option value="" { "toutes" }
                @for action in Action::ALL {
                    option value=(action.as_str()) selected[is_selected(action.as_str(), &query.action)] { (action.label()) }
                }
            }
            label for="du" { "Du" }
            input #du name="du" type="date" value=(query.du.as_deref().unwrap_or(""));
            label for="au" { "Au" }
            input #au name="au" type="date" value=(query.au.as_deref().unwrap_or(""));
            button type="submit" { "Filtrer" }
        }
        table {
            caption { (quantity(rows.records.len() as u64, "opération", "opérations")) }
            thead { tr {
                th scope="col" { "Date" }
                // The admin follows every partner: which one, for each.
                @if admin { th scope="col" { "Structure" } }
                th scope="col" { "Par" } th scope="col" { "Action" }
                th scope="col" { "Objet" } th scope="col" { "Depuis" }
            } }
            tbody {
                @for record in &rows.records {
                    tr {
                        td { (in_paris(record.at).format("%d/%m/%Y %H:%M")) }
                        @if admin {
                            td { (record.partner_id.as_ref().and_then(|id| rows.partners.iter().find(|(p, _)| p == id)).map_or("—", |(_, name)| name.as_str())) }
                        }
                        td { (record.actor_id.as_ref().and_then(|id| rows.logins.get(id)).map_or("système", |login| login.as_str())) }
                        td { (Action::parse(&record.action).map_or(record.action.as_str(), |action| action.label())) }
                        td { (record.object_id.as_ref().and_then(|id| rows.logins.get(id)).map_or(record.object_label(), |login| login.as_str())) }
                        td { (record.address.as_deref().unwrap_or("—")) }
                    }
                }
            }
        }
    }
}

async fn show(
    req: HttpRequest,
    account: accounts::Account,
    query: Query,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let admin = account.role == Role::Admin.as_str();
    let own_partner = match (admin, Role::parse(&account.role), &account.partner_id) {
        (true, _, _) => None,
        (false, Some(Role::Rgc), Some(partner)) => Some(partner.clone()),
        _ => return Err(PageError::Forbidden),
    };
    let (mut filter, error) = match parse_filter(&query) {
        Ok(filter) => (filter, None),
        Err(error) => (Filter::default(), Some(error)),
    };
    if own_partner.is_some() {
        // An RGC's journal is its own partner's, whatever the query says.
        filter.partner = own_partner;
    }
    let person = query
        .personne
        .clone()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let rows = database
        .run(move |conn| {
            if let Some(login) = &person {
                // An unknown login matches nothing rather than everything.
                filter.person = Some(accounts::id_of_login(conn, login)?.unwrap_or_default());
            }
            let records = audit::search(conn, &filter, LIMIT)?;
            let ids: Vec<String> = records
                .iter()
                .flat_map(|r| [r.actor_id.clone(), r.object_id.clone()])
                .flatten()
                .collect();
            let logins = accounts::logins_of(conn, &ids)?;
            let partners = if admin {
                accounts::partner_names(conn)?
            } else {
                Vec::new()
            };
            Ok::<_, AccountError>(Rows {
                records,
                logins,
                partners,
            })
        })
        .await?;
    let csrf = Csrf::of(&req);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = layout::signed_in_page(
        "Journal",
        &account,
        &csrf,
        page(&rows, &query, admin, error.as_deref()),
    );
    Ok(layout::respond(&req, status, &csrf, body))
}

pub async fn journal(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    query: web::Query<Query>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    show(req, account, query.into_inner(), database).await
}
