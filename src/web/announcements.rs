//! Service announcements: the admin's page to publish and withdraw them, and
//! the middleware that puts the ones in force on every page.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use maud::{Markup, html};
use serde::Deserialize;

use super::STYLESHEET_PATH;
use super::admin::admin_only;
use super::errors::PageError;
use super::layout::{self, Notice};
use super::ops::OPERATIONS_PATHS;
use super::session::{self, Csrf, SignedIn};
use super::structure::ActionForm;
use crate::accounts::Account;
use crate::announcements::{self, Announcement, Board, Draft, MAX_MESSAGE_CHARS, Withdrawal};
use crate::clock::{self, Clock, in_paris};
use crate::db::Database;

pub const ANNOUNCEMENTS_PATH: &str = "/admin/annonces";
/// Announcements listed on the admin's page.
const LISTED: i64 = 50;

/// Puts the announcements shown now in reach of the page being built (API
/// and operations answers need none). Without the database, pages show
/// none rather than fail.
pub async fn show_on_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let is_page =
        !path.starts_with("/api/") && path != STYLESHEET_PATH && !OPERATIONS_PATHS.contains(&path);
    let board = req.app_data::<web::Data<Board>>().cloned();
    let clock = req.app_data::<web::Data<dyn Clock>>().cloned();
    let shown = match (is_page, board, clock) {
        (true, Some(board), Some(clock)) => {
            board.shown(clock.now()).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "service announcements unavailable");
                Vec::new()
            })
        }
        _ => Vec::new(),
    };
    layout::ANNOUNCEMENTS
        .scope(Arc::from(shown), next.call(req))
        .await
}

#[derive(Deserialize)]
pub struct AnnouncementForm {
    csrf: String,
    message: String,
    maintenance: Option<String>,
    debut: String,
    fin: String,
}

fn state(announcement: &Announcement, now: NaiveDateTime) -> &'static str {
    if announcement.withdrawn_at.is_some() {
        "retirée"
    } else if announcement.ends_at <= now {
        "terminée"
    } else if announcement.shown_at(now) {
        "affichée"
    } else {
        "à venir"
    }
}

fn paris(at: NaiveDateTime) -> String {
    in_paris(at).format("%d/%m/%Y %H:%M").to_string()
}

/// The form's values to show again: what was sent, or the defaults.
struct Fields {
    message: String,
    maintenance: bool,
    start: String,
    end: String,
}

fn page(
    admin: &Account,
    csrf: &Csrf,
    listed: &[Announcement],
    now: NaiveDateTime,
    fields: &Fields,
    message: Option<(&str, bool)>,
) -> Markup {
    layout::signed_in_page(
        "Annonces de service",
        admin,
        csrf,
        html! {
            h1 { "Annonces de service" }
            p.hint {
                "Une annonce s'affiche en haut de toutes les pages du portail, page de connexion comprise. "
                "Une maintenance s'affiche dès sa publication et jusqu'à sa fin ; une information, entre son début et sa fin. "
                "Les heures sont celles de Paris."
            }
            @if let Some((text, is_error)) = message { (layout::message(text, is_error)) }
            h2 { "Publier une annonce" }
            form.form method="post" action=(ANNOUNCEMENTS_PATH) {
                (csrf.field())
                label for="message" { "Message" }
                textarea #message name="message" rows="3" maxlength=(MAX_MESSAGE_CHARS) required { (fields.message) }
                label.check { input type="checkbox" name="maintenance" value="oui" checked[fields.maintenance];
                    " Maintenance : le portail sera indisponible entre le début et la fin" }
                label for="debut" { "Début" }
                input #debut name="debut" type="datetime-local" required value=(fields.start);
                label for="fin" { "Fin" }
                input #fin name="fin" type="datetime-local" required value=(fields.end);
                button type="submit" { "Publier" }
            }
            h2 { "Annonces publiées" }
            @if listed.is_empty() {
                p { "Aucune annonce n'a encore été publiée." }
            } @else {
                table {
                    caption { "Les " (listed.len()) " dernières annonces, la plus récente d'abord" }
                    thead { tr {
                        th scope="col" { "Annonce" } th scope="col" { "Début" } th scope="col" { "Fin" }
                        th scope="col" { "État" } th scope="col" { "Action" }
                    } }
                    tbody {
                        @for announcement in listed {
                            tr {
                                td {
                                    @if announcement.maintenance { strong { "Maintenance. " } }
                                    (announcement.message)
                                }
                                td { (paris(announcement.starts_at)) }
                                td { (paris(announcement.ends_at)) }
                                td { (state(announcement, now)) }
                                td {
                                    @if announcement.withdrawn_at.is_none() && announcement.ends_at > now {
                                        form.inline method="post" action={ (ANNOUNCEMENTS_PATH) "/" (announcement.id) "/retrait" } {
                                            (csrf.field())
                                            button.secondary type="submit" { "Retirer" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn default_fields(now: NaiveDateTime) -> Fields {
    Fields {
        message: String::new(),
        maintenance: false,
        start: in_paris(now).format(clock::INPUT_FORMAT).to_string(),
        end: String::new(),
    }
}

/// Who is on the admin's page, and when: what every answer from it needs.
struct Visit<'a> {
    req: &'a HttpRequest,
    admin: &'a Account,
    database: &'a Database,
    now: NaiveDateTime,
}

impl Visit<'_> {
    /// The page, with the form's fields and a message.
    async fn page(
        &self,
        status: StatusCode,
        fields: &Fields,
        message: Option<(&str, bool)>,
    ) -> Result<HttpResponse, PageError> {
        let listed = self
            .database
            .run(|conn| announcements::latest(conn, LISTED))
            .await?;
        let csrf = Csrf::of(self.req);
        let body = page(self.admin, &csrf, &listed, self.now, fields, message);
        Ok(layout::respond(self.req, status, &csrf, body))
    }
}

pub async fn show(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, PageError> {
    admin_only(&admin)?;
    let now = clock.now();
    // Fixed messages only: the query string never reaches the page as text.
    let message = match notice.avis.as_deref() {
        Some("publiee") => Some(("L'annonce est publiée.", false)),
        Some("retiree") => Some(("L'annonce est retirée.", false)),
        _ => None,
    };
    let visit = Visit {
        req: &req,
        admin: &admin,
        database: &database,
        now,
    };
    visit
        .page(StatusCode::OK, &default_fields(now), message)
        .await
}

pub async fn publish(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    form: web::Form<AnnouncementForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
    board: web::Data<Board>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    admin_only(&admin)?;
    let now = clock.now();
    let form = form.into_inner();
    let maintenance = form.maintenance.is_some();
    match Draft::parse(&form.message, maintenance, &form.debut, &form.fin, now) {
        Ok(draft) => {
            let actor = session::actor(&req, &admin);
            database
                .run(move |conn| announcements::publish(conn, now, &actor, &draft))
                .await?;
            board.forget();
            Ok(layout::see_other(&format!(
                "{ANNOUNCEMENTS_PATH}?avis=publiee"
            )))
        }
        Err(problem) => {
            let fields = Fields {
                message: form.message,
                maintenance,
                start: form.debut,
                end: form.fin,
            };
            let visit = Visit {
                req: &req,
                admin: &admin,
                database: &database,
                now,
            };
            visit
                .page(StatusCode::BAD_REQUEST, &fields, Some((&problem, true)))
                .await
        }
    }
}

pub async fn withdraw(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
    board: web::Data<Board>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    admin_only(&admin)?;
    let now = clock.now();
    let actor = session::actor(&req, &admin);
    let id = path.into_inner();
    let withdrawal = database
        .run(move |conn| announcements::withdraw(conn, now, &actor, &id))
        .await?;
    match withdrawal {
        Withdrawal::Withdrawn => {
            board.forget();
            return Ok(layout::see_other(&format!(
                "{ANNOUNCEMENTS_PATH}?avis=retiree"
            )));
        }
        Withdrawal::Unknown => return Err(PageError::NotFound),
        Withdrawal::AlreadyOver => {}
    }
    let problem =
        "Cette annonce n'est plus affichée ni à venir : elle est déjà retirée ou terminée.";
    let visit = Visit {
        req: &req,
        admin: &admin,
        database: &database,
        now,
    };
    visit
        .page(
            StatusCode::CONFLICT,
            &default_fields(now),
            Some((problem, true)),
        )
        .await
}
