//! `GET /api/v1/openapi.json`: the API described in OpenAPI 3.0, for the
//! programs that call it (the source system, partners' search clients) and
//! the tools that generate their clients. Public: it holds no data. Limits
//! and lists come from the code that applies them, and a test checks that
//! every search parameter the API accepts is described here.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::referentials;
use crate::apikeys::Scope;
use crate::offers::OfferStatus;
use crate::search::params::{
    MAX_DISTANCE_KM, MAX_KEYWORDS, MAX_LIST, MAX_PAGE, MAX_PHRASE_WORDS, MAX_PLACES, MAX_START,
};

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

pub async fn document() -> HttpResponse {
    static BODY: OnceLock<String> = OnceLock::new();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(BODY.get_or_init(|| describe().to_string()).clone())
}

/// Each search parameter, with what it does.
fn search_parameters() -> Vec<(&'static str, String)> {
    let listed = |what: &str, referential: &str| {
        format!(
            "{what}, séparés par des virgules ({MAX_LIST} au plus) : voir /api/v1/referentiel/{referential}."
        )
    };
    let flag = |what: &str| format!("{what} : true ou false.");
    let facet = |text: String| format!("{text} Donne une facette de la réponse.");
    vec![
        (
            "motsCles",
            format!(
                "Mots-clés séparés par des virgules ({MAX_KEYWORDS} au plus, de 2 caractères au \
                 moins), tous présents dans l'offre ; des mots entre guillemets doivent s'y suivre \
                 (\"chef de cuisine\", {MAX_PHRASE_WORDS} mots au plus). Accents, majuscules, \
                 pluriels et mots vides sont ignorés."
            ),
        ),
        (
            "typeContrat",
            facet(listed("Types de contrat (CDI, CDD, MIS…)", "typesContrats")),
        ),
        (
            "natureContrat",
            facet(listed("Natures de contrat", "naturesContrats")),
        ),
        (
            "experience",
            facet(
                "Expérience exigée : 1 (débutant ou moins d'un an), 2 (de un à trois ans), \
                 3 (plus de trois ans), 0 (non précisée)."
                    .to_owned(),
            ),
        ),
        (
            "qualification",
            facet("0 (non-cadre) ou 9 (cadre).".to_owned()),
        ),
        (
            "codeAgence",
            facet(format!(
                "Codes SAFIR des agences qui gèrent les offres, séparés par des virgules \
                 ({MAX_LIST} au plus)."
            )),
        ),
        (
            "departement",
            facet(format!(
                "Départements, séparés par des virgules ({MAX_PLACES} au plus), par ex. 13, 2A, \
                 974 : voir /api/v1/referentiel/departements."
            )),
        ),
        (
            "avecPreselection",
            facet(flag("Offres avec présélection par l'agence")),
        ),
        ("contratAide", facet(flag("Contrats aidés (CUI-PEC…)"))),
        ("codeROME", listed("Codes ROME des métiers", "metiers")),
        (
            "secteurActivite",
            listed("Secteurs d'activité", "secteursActivites"),
        ),
        ("tempsPlein", flag("Temps plein")),
        (
            "accesTravailleurHandicape",
            flag("Offres accessibles aux travailleurs handicapés"),
        ),
        ("iae", flag("Offres de l'insertion par l'activité économique")),
        ("publiee", flag("Offres publiées sur le site public")),
        (
            "commune",
            format!(
                "Codes INSEE des communes, séparés par des virgules ({MAX_PLACES} au plus, \
                 arrondissements compris) : voir /api/v1/referentiel/communes."
            ),
        ),
        (
            "distance",
            format!(
                "Kilomètres autour de la commune (0 à {MAX_DISTANCE_KM}, 10 par défaut ; 0 : la \
                 commune seule). Demande « commune »."
            ),
        ),
        (
            "publieeDepuis",
            "Offres créées depuis 1, 3, 7, 14 ou 31 jours.".to_owned(),
        ),
        (
            "minCreationDate",
            "Offres créées à partir de cette date (2024-03-15T10:20:30Z), avec « maxCreationDate »."
                .to_owned(),
        ),
        (
            "maxCreationDate",
            "Offres créées jusqu'à cette date, avec « minCreationDate ».".to_owned(),
        ),
        (
            "sort",
            "0 : pertinence (par défaut), 1 : date de création, 2 : distance (demande « commune »)."
                .to_owned(),
        ),
        (
            "range",
            format!(
                "Positions « début-fin » des offres de la page, {MAX_PAGE} au plus, début ≤ \
                 {MAX_START} (0-{} par défaut).",
                MAX_PAGE - 1
            ),
        ),
    ]
}

const UNAVAILABLE: &str =
    "Base de données ou index momentanément indisponible : réessayer dans un instant.";

const TOO_LARGE: &str = "Corps de la requête de plus de 256 Kio (262 144 octets).";

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erreur"}}},
    })
}

fn offer_id() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "Identifiant de l'offre : 1 à 32 lettres, chiffres, « - », « _ » ou « . ».",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"},
    })
}

fn describe() -> Value {
    let parameters: Vec<Value> = search_parameters()
        .into_iter()
        .map(|(name, description)| {
            json!({"name": name, "in": "query", "description": description, "schema": {"type": "string"}})
        })
        .collect();
    let range_header = json!({
        "description": "Les positions servies et le total, par ex. « offres 0-149/1234 ».",
        "schema": {"type": "string"},
    });
    let results = json!({
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resultats"}}},
        "headers": {
            "Content-Range": range_header,
            "Accept-Range": {"description": "Le plus de positions d'une page : « offres 150 ».", "schema": {"type": "string"}},
        },
    });
    let statuses: Vec<&str> = OfferStatus::ALL.iter().map(|s| s.as_str()).collect();
    let needs = |scope: Scope| format!("Clé de portée « {} ».", scope.as_str());
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "relais",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Offres d'emploi des agences pour les partenaires de France Travail. \
                La recherche suit l'API « Offres d'emploi v2 » de France Travail (mêmes paramètres, \
                même forme de réponse). Chaque appel présente une clé d'API, créée par \
                `relais api-key create` : portée « search » pour chercher, « ingest » pour le \
                système source. Les erreurs répondent {\"codeHttp\", \"message\"} en français.",
        },
        "security": [{"cle": []}],
        "paths": {
            "/api/v1/offres/search": {"get": {
                "summary": "Chercher des offres",
                "description": needs(Scope::Search),
                "parameters": parameters,
                "responses": {
                    "200": {"description": "La dernière page des résultats.", "headers": results["headers"], "content": results["content"]},
                    "206": {"description": "Une page, d'autres suivent.", "headers": results["headers"], "content": results["content"]},
                    "204": {"description": "Aucune offre à ces positions.", "headers": {"Content-Range": range_header}},
                    "400": error("Paramètre inconnu, répété ou invalide : le message le nomme."),
                    "401": error("Clé d'API absente ou invalide."),
                    "403": error("La clé n'a pas la portée « search »."),
                    "503": error(UNAVAILABLE),
                },
            }},
            "/api/v1/offres/{id}": {
                "get": {
                    "summary": "Lire une offre, avec son statut",
                    "description": "Clé de toute portée.",
                    "parameters": [offer_id()],
                    "responses": {
                        "200": {"description": "L'offre.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Offre"}}}},
                        "400": error("Identifiant invalide."),
                        "401": error("Clé d'API absente ou invalide."),
                        "404": error("Aucune offre ne porte cet identifiant."),
                        "503": error(UNAVAILABLE),
                    },
                },
                "put": {
                    "summary": "Créer ou remplacer une offre (système source)",
                    "description": needs(Scope::Ingest),
                    "parameters": [offer_id()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Offre"}}}},
                    "responses": {
                        "201": {"description": "Offre créée : {\"id\", \"resultat\": \"creee\"}."},
                        "200": {"description": "Offre remplacée ou inchangée : {\"id\", \"resultat\": \"modifiee\" | \"inchangee\"}."},
                        "400": error("Identifiant, JSON ou offre invalide : « erreurs » liste chaque champ à corriger."),
                        "401": error("Clé d'API absente ou invalide."),
                        "403": error("La clé n'a pas la portée « ingest »."),
                        "413": error(TOO_LARGE),
                        "503": error(UNAVAILABLE),
                    },
                },
            },
            "/api/v1/offres/{id}/statut": {"put": {
                "summary": "Changer le statut d'une offre (système source)",
                "description": needs(Scope::Ingest),
                "parameters": [offer_id()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["statut"],
                    "properties": {"statut": {"type": "string", "enum": statuses}},
                }}}},
                "responses": {
                    "200": {"description": "Statut changé : {\"id\", \"statut\"}. L'offre entre dans la recherche ou en sort aussitôt."},
                    "400": error("Identifiant, JSON ou statut invalide."),
                    "401": error("Clé d'API absente ou invalide."),
                    "403": error("La clé n'a pas la portée « ingest »."),
                    "404": error("Aucune offre ne porte cet identifiant."),
                    "413": error(TOO_LARGE),
                    "503": error(UNAVAILABLE),
                },
            }},
            "/api/v1/referentiel/{name}": {"get": {
                "summary": "Un référentiel : [{code, libelle, …}]",
                "description": "Clé de toute portée.",
                "parameters": [{
                    "name": "name", "in": "path", "required": true,
                    "schema": {"type": "string", "enum": referentials::NAMES},
                }],
                "responses": {
                    "200": {"description": "Le référentiel."},
                    "401": error("Clé d'API absente ou invalide."),
                    "404": error("Référentiel inconnu."),
                },
            }},
            OPENAPI_PATH: {"get": {
                "summary": "Ce document",
                "security": [],
                "responses": {"200": {"description": "La description OpenAPI de l'API."}},
            }},
        },
        "components": {
            "securitySchemes": {"cle": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <clé d'API>"}},
            "schemas": {
                "Erreur": {
                    "type": "object", "required": ["codeHttp", "message"],
                    "properties": {
                        "codeHttp": {"type": "integer"},
                        "message": {"type": "string"},
                        "erreurs": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"champ": {"type": "string"}, "message": {"type": "string"}},
                        }},
                    },
                },
                "Offre": {
                    "type": "object", "required": ["id", "intitule"],
                    "description": "Une offre au modèle « Offres d'emploi v2 » de France Travail \
                        (id, intitule, description, dateCreation, lieuTravail, typeContrat, …), \
                        avec les champs propres à relais : codeAgence, publiee, avecPreselection, \
                        contratAide, iae ; « statut » en lecture.",
                    "additionalProperties": true,
                },
                "Resultats": {
                    "type": "object",
                    "properties": {
                        "resultats": {"type": "array", "items": {"$ref": "#/components/schemas/Offre"}},
                        "filtresPossibles": {"type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "filtre": {"type": "string"},
                                "agregation": {"type": "array", "items": {
                                    "type": "object",
                                    "properties": {"valeurPossible": {"type": "string"}, "nbResultats": {"type": "integer"}},
                                }},
                            },
                        }},
                    },
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::search::params::accepted_parameters;

    #[test]
    fn every_accepted_search_parameter_is_described_once() {
        let described: Vec<&str> = search_parameters().iter().map(|(name, _)| *name).collect();
        let unique: BTreeSet<&str> = described.iter().copied().collect();
        assert_eq!(
            unique.len(),
            described.len(),
            "described twice: {described:?}"
        );
        assert_eq!(unique, accepted_parameters().collect::<BTreeSet<_>>());
    }
}
