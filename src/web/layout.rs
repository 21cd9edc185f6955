//! The frame shared by every page: language, landmarks, skip link.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, Markup, html};

use std::sync::Arc;

use super::STYLESHEET_PATH;
use super::session::{Csrf, LOGOUT_PATH, PASSWORD_PATH};
use crate::accounts::Account;
use crate::announcements::Announcement;
use crate::config::SessionSettings;

tokio::task_local! {
    /// The service announcements shown on the page being built, put there
    /// by the `show_on_pages` middleware.
    pub static ANNOUNCEMENTS: Arc<[Announcement]>;
}

/// The `?avis=…` a page is redirected to after an action: a code naming a
/// fixed message, never text shown as it is.
#[derive(serde::Deserialize)]
pub struct Notice {
    pub avis: Option<String>,
}

/// An HTML response, with the CSRF cookie set when the browser had none.
/// Pages may show personal data or a one-time password: never cached.
pub fn respond(req: &HttpRequest, status: StatusCode, csrf: &Csrf, body: Markup) -> HttpResponse {
    let secure = req
        .app_data::<web::Data<SessionSettings>>()
        .is_some_and(|s| s.secure_cookies);
    let mut response = HttpResponse::build(status);
    if let Some(cookie) = csrf.cookie(secure) {
        response.cookie(cookie);
    }
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Links in a page never tell another site its address (an agency's
        // link carries its key); relais itself reads it to bring a form
        // sent after the session ended back once signed in.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// Post/redirect/get: the browser goes on to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A message to the person: an error (announced at once) or a confirmation.
pub fn message(text: &str, is_error: bool) -> Markup {
    html! {
        @if is_error {
            div.alert role="alert" { p { (text) } }
        } @else {
            div.notice role="status" { p { (text) } }
        }
    }
}

pub fn page(title: &str, content: Markup) -> Markup {
    frame(title, None, content)
}

/// A page for a signed-in person: their name and a way out in the header.
pub fn signed_in_page(title: &str, account: &Account, csrf: &Csrf, content: Markup) -> Markup {
    let who = account.full_name.as_deref().unwrap_or(&account.login);
    let nav = html! {
        nav.account aria-label="Votre compte" {
            span { (who) }
            a href="/offres" { "Offres" }
            @if account.partner_id.is_some() {
                a href="/mises-en-relation" { "Mises en relation" }
            }
            @if account.role == "rgc" {
                a href="/structure/comptes" { "Comptes de la structure" }
                a href="/structure/activite" { "Activité" }
            }
            @if account.role == "admin" {
                a href="/admin/structures" { "Structures partenaires" }
                a href="/admin/synchronisation" { "Synchronisation" }
                a href="/admin/activite" { "Activité" }
                a href="/admin/annonces" { "Annonces" }
            }
            @if account.role == "admin" || account.role == "rgc" {
                a href="/journal" { "Journal" }
                a href="/courriels" { "Courriels" }
            }
            a href=(PASSWORD_PATH) { "Mot de passe" }
            form method="post" action=(LOGOUT_PATH) {
                (csrf.field())
                button.link type="submit" { "Se déconnecter" }
            }
        }
    };
    frame(title, Some(nav), content)
}

/// The announcements in force, at the top of every page.
fn announcements() -> Markup {
    let shown = ANNOUNCEMENTS
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::from([]));
    html! {
        @if !shown.is_empty() {
            section.announcements aria-label="Annonces de service" {
                div.wrap {
                    @for announcement in shown.iter() {
                        p.announcement.maintenance[announcement.maintenance] {
                            @if let Some(window) = announcement.window() { strong { (window) } " " }
                            (announcement.message)
                        }
                    }
                }
            }
        }
    }
}

fn frame(title: &str, nav: Option<Markup>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — relais" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                a.skip-link href="#contenu" { "Aller au contenu" }
                header.site-header {
                    div.wrap {
                        a.brand href="/" { "relais" }
                        span.tagline { "Offres d'emploi pour les partenaires de France Travail" }
                        @if let Some(nav) = nav { (nav) }
                    }
                }
                (announcements())
                main #contenu tabindex="-1" {
                    div.wrap { (content) }
                }
                footer.site-footer {
                    div.wrap {
                        p { "relais — portail des partenaires, agences du Pays d'Aix · "
                            a href="/confidentialite" { "Données personnelles" } }
                    }
                }
            }
        }
    }
}
