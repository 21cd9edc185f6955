//! The HTTP front end: routes, pages (maud) and operations endpoints. Handlers
//! only translate between HTTP and the domain modules.

mod assets;
mod errors;
mod home;
mod layout;
mod ops;

use actix_web::web;

pub use assets::STYLESHEET_PATH;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::show))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route(STYLESHEET_PATH, web::get().to(assets::stylesheet))
        .default_service(web::to(errors::not_found));
}
