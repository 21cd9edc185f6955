//! The home page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::errors::PageError;
use super::layout::{self, Notice};
use super::session::{Csrf, Moment, Visitor};
use crate::agencies::{self, Agency};
use crate::auth;
use crate::db::{Database, DbError};

pub async fn show(
    req: HttpRequest,
    visitor: Visitor,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    // Only the login page, health and the privacy notice are public.
    let Some(account) = visitor.account else {
        return Err(super::session::sign_in_needed(&req));
    };
    if account.must_change_password {
        return Err(PageError::PasswordChangeRequired);
    }
    let user = account.id.clone();
    let Moment { now, policy } = Moment::of(&req)?;
    let (agencies, places) = database
        .run(move |conn| {
            let places = auth::live_addresses(conn, now, policy, &user)?.len();
            Ok::<_, DbError>((agencies::list(conn)?, places))
        })
        .await?;
    // Fixed messages only: the query string never reaches the page as text.
    let notice = match notice.avis.as_deref() {
        Some("mot-de-passe") => Some("Votre mot de passe est enregistré."),
        _ => None,
    };
    let csrf = Csrf::of(&req);
    let warning = (places > 1).then(|| {
        html! {
            div.alert role="alert" {
                p { "Votre identifiant est utilisé en ce moment depuis " (places) " adresses différentes. "
                    "Un identifiant est personnel : si ce n'est pas vous, changez votre mot de passe "
                    "et prévenez votre responsable de gestion des comptes." }
            }
        }
    });
    let content = html! { @if let Some(w) = warning { (w) } (content(&agencies, notice)) };
    let body = layout::signed_in_page("Accueil", &account, &csrf, content);
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

fn content(agencies: &[Agency], notice: Option<&str>) -> Markup {
    html! {
        @if let Some(notice) = notice { (layout::message(notice, false)) }
        h1 { "Les offres d'emploi du territoire, pour les partenaires" }
        p.lead {
            "relais ouvre aux structures partenaires — PLIE, missions locales, structures d'insertion — "
            "toutes les offres d'emploi gérées par les agences France Travail du territoire, "
            "qu'elles soient publiées ou non. Les accompagnateurs y recherchent des offres, "
            "y positionnent les personnes qu'ils accompagnent et sollicitent l'équipe entreprise "
            "de l'agence pour les offres avec présélection."
        }
        h2 #agences { "Agences du territoire" }
        table {
            caption { (agencies.len()) " agences gèrent les offres proposées ici" }
            thead { tr { th scope="col" { "Code" } th scope="col" { "Agence" } } }
            tbody {
                @for agency in agencies {
                    tr { td { (agency.code) } td { (agency.name) } }
                }
            }
        }
    }
}
