//! The admin's view of the upstream sync: its recent runs, what each
//! fetched and wrote, and why a run failed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use maud::{Markup, html};

use super::admin::admin_only;
use super::errors::PageError;
use super::layout;
use super::session::{Csrf, SignedIn};
use crate::clock::in_paris;
use crate::db::Database;
use crate::offers::sync::runs::{self, SyncRun};

pub const SYNC_PATH: &str = "/admin/synchronisation";
/// Runs shown: about two days at one run an hour.
const SHOWN_RUNS: i64 = 50;

pub async fn show(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    admin_only(&admin)?;
    let recent = database.run(|conn| runs::recent(conn, SHOWN_RUNS)).await?;
    let csrf = Csrf::of(&req);
    let body = layout::signed_in_page(
        "Synchronisation avec France Travail",
        &admin,
        &csrf,
        html! {
            h1 { "Synchronisation avec France Travail" }
            p.hint {
                "Les offres des agences sont lues dans l'API « Offres d'emploi v2 » de France Travail. "
                "Une offre qui n'y figure plus après une synchronisation complète devient « annulée » "
                "et sort de la recherche ; si elle y figure de nouveau, elle est « rétablie ». "
                "Une synchronisation échouée n'annule rien et laisse les offres en place."
            }
            @if recent.is_empty() {
                p { "Aucune synchronisation n'a encore eu lieu (commande " code { "relais sync" } ")." }
            } @else {
                (runs_table(&recent))
            }
        },
    );
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

fn runs_table(recent: &[SyncRun]) -> Markup {
    html! {
        div.table-scroll tabindex="0" role="region" aria-label="Synchronisations" {
            table {
                caption {
                    @if recent.len() == 1 {
                        "La dernière synchronisation"
                    } @else {
                        "Les " (recent.len()) " dernières synchronisations, la plus récente d'abord"
                    }
                }
                thead { tr {
                    th scope="col" { "Début" } th scope="col" { "Fin" } th scope="col" { "Durée" }
                    th scope="col" { "État" } th scope="col" { "Requêtes" } th scope="col" { "Offres reçues" }
                    th scope="col" { "Créées" } th scope="col" { "Mises à jour" } th scope="col" { "Inchangées" }
                    th scope="col" { "Rejetées" } th scope="col" { "Hors territoire" } th scope="col" { "Annulées" } th scope="col" { "Rétablies" }
                    th scope="col" { "Erreur" }
                } }
                tbody {
                    @for run in recent {
                        @let c = &run.counts;
                        tr {
                            td { (moment(run.started_at)) }
                            td { (run.finished_at.map(moment).unwrap_or_default()) }
                            td { (run.finished_at.map(|end| duration(end - run.started_at)).unwrap_or_default()) }
                            td { (run.status().map_or(run.status.as_str(), |s| s.label())) }
                            td { (c.requests) } td { (c.fetched) } td { (c.created) } td { (c.updated) }
                            td { (c.unchanged) } td { (c.rejected) } td { (c.out_of_territory) } td { (c.cancelled) } td { (c.restored) }
                            td { (run.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn moment(at: NaiveDateTime) -> String {
    in_paris(at).format("%d/%m/%Y %H:%M:%S").to_string()
}

/// "2 min 05 s", "12 s".
fn duration(elapsed: chrono::TimeDelta) -> String {
    let seconds = elapsed.num_seconds().max(0);
    match seconds / 60 {
        0 => format!("{seconds} s"),
        minutes => format!("{minutes} min {:02} s", seconds % 60),
    }
}
