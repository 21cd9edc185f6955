//! Mail that did not leave: the RGC sees their partner's, the admin all of
//! them, each with the reason, and can send a failed message again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use serde::Deserialize;

use super::errors::PageError;
use super::layout::{self, Notice};
use super::session::{self, Csrf, Moment, SignedIn};
use crate::accounts::{Account, Role};
use crate::clock::in_paris;
use crate::db::Database;
use crate::mail::MailWaker;
use crate::mail::outbox::{self, MailStatus, Retry};
use crate::text::quantity;

pub const MAILS_PATH: &str = "/courriels";

/// Whose messages this person manages: `Some(partner)` for an RGC, `None`
/// (all) for the admin.
fn scope(account: &Account) -> Result<Option<String>, PageError> {
    match (Role::parse(&account.role), &account.partner_id) {
        (Some(Role::Admin), _) => Ok(None),
        (Some(Role::Rgc), Some(partner)) => Ok(Some(partner.clone())),
        _ => Err(PageError::Forbidden),
    }
}

pub async fn list(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let partner = scope(&account)?;
    let messages = database
        .run(move |conn| outbox::undelivered(conn, partner.as_deref()))
        .await?;
    let csrf = Csrf::of(&req);
    let notice = match notice.avis.as_deref() {
        Some("relance") => Some((
            "Le courriel repart : il sera envoyé dans quelques instants.",
            false,
        )),
        Some("deja") => Some((
            "Ce courriel n'est plus en échec : il a été envoyé ou est déjà en cours d'envoi.",
            true,
        )),
        _ => None,
    };
    let body = layout::signed_in_page(
        "Courriels non remis",
        &account,
        &csrf,
        html! {
            h1 { "Courriels non remis" }
            p.lead { "Les courriels que relais n'a pas encore pu remettre au serveur de messagerie. "
                "Ceux « en cours de nouvel essai » repartent seuls ; ceux « en échec » attendent que vous les renvoyiez." }
            @if let Some((text, is_error)) = notice { (layout::message(text, is_error)) }
            @if messages.is_empty() {
                p { "Aucun courriel en attente ni en échec." }
            } @else {
                table {
                    caption { (quantity(messages.len() as u64, "courriel", "courriels")) }
                    thead { tr {
                        th scope="col" { "Créé le" } th scope="col" { "Destinataire" } th scope="col" { "Objet" }
                        th scope="col" { "Essais" } th scope="col" { "Dernière erreur" } th scope="col" { "État" }
                    } }
                    tbody {
                        @for m in &messages {
                            tr {
                                td { (in_paris(m.created_at).format("%d/%m/%Y %H:%M")) }
                                td { (m.recipient) }
                                td { (m.subject) }
                                td { (m.attempts) }
                                td { (m.last_error.as_deref().unwrap_or("—")) }
                                td {
                                    @if MailStatus::parse(&m.status) == Some(MailStatus::Failed) {
                                        "en échec"
                                        form.inline method="post" action={ (MAILS_PATH) "/" (m.id) "/relance" } {
                                            (csrf.field())
                                            " " button.secondary type="submit" { "Renvoyer" span.visually-hidden { " le courriel « " (m.subject) " »" } }
                                        }
                                    } @else {
                                        "en cours de nouvel essai (prochain le " (in_paris(m.next_attempt_at).format("%d/%m/%Y %H:%M")) ")"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

#[derive(Deserialize)]
pub struct RetryForm {
    csrf: String,
}

pub async fn retry(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<String>,
    form: web::Form<RetryForm>,
    database: web::Data<Database>,
    mail: web::Data<MailWaker>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    let partner = scope(&account)?;
    let now = Moment::of(&req)?.now;
    let actor = session::actor(&req, &account);
    let id = path.into_inner();
    let outcome = database
        .run(move |conn| outbox::retry(conn, now, &actor, partner.as_deref(), &id))
        .await?;
    match outcome {
        Retry::Queued => {
            mail.wake();
            Ok(layout::see_other(&format!("{MAILS_PATH}?avis=relance")))
        }
        Retry::NotFailed => Ok(layout::see_other(&format!("{MAILS_PATH}?avis=deja"))),
        Retry::NotFound => Err(PageError::NotFound),
    }
}
