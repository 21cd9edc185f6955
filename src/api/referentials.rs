//! `GET /api/v1/referentiel/{name}`: the referentials as `[{code, libelle, …}]`.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::ApiClient;
use super::errors::ApiError;
use crate::referentials::{self, CONTRACT_NATURES, CONTRACT_TYPES, CodeLabel};

/// The referentials served, by name.
pub(super) const NAMES: [&str; 6] = [
    "communes",
    "departements",
    "metiers",
    "secteursActivites",
    "typesContrats",
    "naturesContrats",
];

pub async fn list(_client: ApiClient, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let Some(slot) = NAMES.iter().position(|n| *n == name.as_str()) else {
        return Err(ApiError::NotFound(format!(
            "Référentiel « {name} » inconnu : {}.",
            NAMES.join(", ")
        )));
    };
    // Serialised once: the communes alone are some megabytes.
    static BODIES: [OnceLock<String>; NAMES.len()] = [const { OnceLock::new() }; NAMES.len()];
    let body = BODIES[slot].get_or_init(|| render(NAMES[slot]).to_string());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone()))
}

fn code_labels(list: &[CodeLabel]) -> Value {
    json!(
        list.iter()
            .map(|c| json!({"code": c.code, "libelle": c.label}))
            .collect::<Vec<_>>()
    )
}

fn render(name: &str) -> Value {
    let referentials = referentials::get();
    match name {
        "communes" => json!(
            referentials
                .communes
                .iter()
                .map(|c| json!({
                    "code": c.code,
                    "libelle": c.name,
                    "codePostal": c.postal_codes.first(),
                    "codesPostaux": c.postal_codes,
                    "codeDepartement": c.department,
                    "latitude": c.latitude,
                    "longitude": c.longitude,
                }))
                .collect::<Vec<_>>()
        ),
        // As France Travail's: {code, libelle, region: {code, libelle}}.
        "departements" => json!(
            referentials
                .departments
                .iter()
                .map(|d| json!({
                    "code": d.code,
                    "libelle": d.name,
                    "region": {"code": d.region.code, "libelle": d.region.name},
                }))
                .collect::<Vec<_>>()
        ),
        "metiers" => json!(
            referentials
                .jobs
                .iter()
                .map(|j| json!({"code": j.code, "libelle": j.label}))
                .collect::<Vec<_>>()
        ),
        "secteursActivites" => json!(
            referentials
                .sectors
                .iter()
                .map(|s| json!({"code": s.code, "libelle": s.label}))
                .collect::<Vec<_>>()
        ),
        "typesContrats" => code_labels(CONTRACT_TYPES),
        _ => code_labels(CONTRACT_NATURES),
    }
}
