//! The JSON API: offers ingest for the source system, offer search with
//! France Travail's parameters, the referentials, and their OpenAPI
//! description. Handlers only translate between HTTP and the domain modules.

mod auth;
mod errors;
mod offers;
mod openapi;
mod referentials;

use std::collections::HashSet;

use actix_web::web;

pub use errors::ApiError;
pub use offers::{search_request, search_response};
pub use openapi::OPENAPI_PATH;

/// The configured agency codes, for checking offers and parameters.
pub struct AgencyCodes(pub HashSet<String>);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // Before `/offres/{id}`, which would take "search" for an id.
            .route("/offres/search", web::get().to(offers::search))
            .route("/offres/{id}", web::put().to(offers::put))
            .route("/offres/{id}", web::get().to(offers::get))
            .route("/offres/{id}/statut", web::put().to(offers::put_status))
            .route("/referentiel/{name}", web::get().to(referentials::list))
            .route("/openapi.json", web::get().to(openapi::document))
            .default_service(web::to(errors::no_such_route)),
    );
}
