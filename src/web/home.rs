//! The home page.

use actix_web::web;
use maud::{Markup, html};

use super::errors::PageError;
use super::layout;
use crate::agencies::{self, Agency};
use crate::db::Database;

pub async fn show(database: web::Data<Database>) -> Result<Markup, PageError> {
    let agencies = database.run(agencies::list).await?;
    Ok(layout::page("Accueil", content(&agencies)))
}

fn content(agencies: &[Agency]) -> Markup {
    html! {
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
