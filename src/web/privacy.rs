//! The privacy notice the partnership agreement requires to be displayed:
//! what is processed, why, who receives it, how long it is kept, and how
//! people exercise their rights. Public: no session needed.

use actix_web::web;
use maud::{Markup, html};

use super::layout;
use crate::config::{AccountSettings, ReferralSettings};

pub const PRIVACY_PATH: &str = "/confidentialite";

pub async fn show(
    referrals: web::Data<ReferralSettings>,
    accounts: web::Data<AccountSettings>,
) -> Markup {
    layout::page(
        "Données personnelles",
        html! {
            h1 { "Données personnelles" }
            p.lead {
                "relais permet aux structures partenaires de France Travail de consulter les offres d'emploi "
                "et d'y positionner les personnes qu'elles accompagnent. Cette page dit quelles données sont "
                "traitées, pourquoi, qui les reçoit, combien de temps elles sont gardées et comment exercer vos droits."
            }
            h2 { "Données traitées" }
            ul {
                li { strong { "Personnes accompagnées : " } "nom, prénom, identifiant France Travail et, seulement avec leur accord, "
                     "une adresse électronique ou un numéro de téléphone. Aucun champ de texte libre." }
                li { strong { "Utilisateurs du portail : " } "nom, fonction et adresse électronique professionnelle, identifiant, "
                     "dates de connexion, adresse réseau des connexions, et le nombre de leurs recherches d'offres "
                     "(quand, jamais ce qui a été cherché), pour le suivi de l'activité." }
                li { strong { "Journal des opérations : " } "qui a fait quoi, quand, sur quel objet et depuis quelle adresse." }
            }
            h2 { "Finalités" }
            p { "Mettre en relation les personnes accompagnées avec les offres d'emploi, transmettre les demandes de contact "
                "aux équipes entreprise des agences, suivre l'activité du partenariat, et garantir la sécurité des accès." }
            h2 { "Destinataires" }
            p { "La structure partenaire qui accompagne la personne, et l'agence France Travail qui gère l'offre concernée. "
                "Les courriels envoyés aux boîtes de recrutement ne contiennent aucune donnée personnelle en clair : "
                "un lien, protégé et limité dans le temps, mène à la demande." }
            h2 { "Durée de conservation" }
            p { "Les données d'une personne accompagnée (nom, prénom, identifiant, coordonnées) sont effacées "
                (referrals.retention_months) " mois après la dernière demande faite pour elle ; ses mises en relation "
                "restent, sans elle, pour les seuls comptages du suivi de l'activité. Un compte inutilisé pendant "
                (accounts.inactivity_days) " jours est suspendu ; un compte supprimé perd ses données personnelles." }
            h2 { "Vos droits" }
            p { "Vous pouvez accéder à vos données et les faire rectifier. Personnes accompagnées : adressez-vous à la "
                "structure qui vous accompagne, qui les corrige dans relais, ou à votre agence France Travail. Utilisateurs du portail : adressez-vous au "
                "responsable de gestion des comptes de votre structure. Vous pouvez aussi saisir la CNIL (www.cnil.fr)." }
        },
    )
}
