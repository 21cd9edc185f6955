//! The JSON API: offers ingest for the source system, offer search with
//! France Travail's parameters, the referentials, and their OpenAPI
//! description. Handlers only translate between HTTP and the domain modules.

mod auth;
mod errors;
mod offers;
mod openapi;
mod referentials;

use std::collections::HashSet;

use actix_web::{Resource, web};

use crate::web::read;

pub use errors::ApiError;
pub use offers::{search_request, search_response};
pub use openapi::OPENAPI_PATH;

/// The configured agency codes, for checking offers and parameters.
pub struct AgencyCodes(pub HashSet<String>);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // Before `/offres/{id}`, which would take "search" for an id.
            .service(resource("/offres/search", "GET, HEAD").route(read().to(offers::search)))
            .service(
                resource("/offres/{id}", "GET, HEAD, PUT")
                    .route(web::put().to(offers::put))
                    .route(read().to(offers::get)),
            )
            .service(
                resource("/offres/{id}/statut", "PUT").route(web::put().to(offers::put_status)),
            )
            .service(
                resource("/referentiel/{name}", "GET, HEAD").route(read().to(referentials::list)),
            )
            .service(resource("/openapi.json", "GET, HEAD").route(read().to(openapi::document)))
            .default_service(web::to(errors::no_such_route)),
    );
}

/// A path of the API answering `allowed`: another method gets 405 and the
/// methods it may use, rather than « no such address ».
fn resource(path: &str, allowed: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || errors::method_not_allowed(allowed)))
}
