//! The frame shared by every page: language, landmarks, skip link.

use maud::{DOCTYPE, Markup, html};

use super::STYLESHEET_PATH;

pub fn page(title: &str, content: Markup) -> Markup {
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
                    }
                }
                main #contenu tabindex="-1" {
                    div.wrap { (content) }
                }
                footer.site-footer {
                    div.wrap { p { "relais — portail des partenaires, agences du Pays d'Aix" } }
                }
            }
        }
    }
}
