//! The HTTP front end: routes, pages (maud) and operations endpoints. Handlers
//! only translate between HTTP and the domain modules.

mod activity;
mod admin;
mod agency;
mod announcements;
mod assets;
mod errors;
mod home;
mod journal;
mod layout;
mod login;
mod mails;
mod offers;
mod ops;
mod privacy;
mod referrals;
mod session;
mod structure;
mod synchronisation;

use actix_web::{Route, guard, web};

use crate::auth::sso;
use crate::referrals::RECORDS_PATH;

pub use announcements::show_on_pages as show_announcements;
pub use assets::STYLESHEET_PATH;
pub use session::TrustedProxies;

/// A route for reading a page: GET, and HEAD, which uptime monitors and
/// link checkers send (actix answers it with the headers alone). Not for a
/// GET that records something (`web::get()` there): a HEAD would be traced
/// or counted as a page read.
pub fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(errors::query_refused))
        .app_data(web::FormConfig::default().error_handler(errors::form_refused))
        .route("/", read().to(home::show))
        .route(ops::HEALTH_PATH, read().to(ops::healthz))
        .route(ops::READINESS_PATH, read().to(ops::readyz))
        .route(ops::METRICS_PATH, read().to(ops::metrics))
        .route(login::LOGIN_PATH, read().to(login::show_login))
        .route(login::LOGIN_PATH, web::post().to(login::submit_login))
        // Each opens or closes a sign-on with the provider.
        .route(sso::START_PATH, web::get().to(login::start_sso))
        .route(sso::RETURN_PATH, web::get().to(login::finish_sso))
        .route(session::LOGOUT_PATH, web::post().to(login::logout))
        .route(session::PASSWORD_PATH, read().to(login::show_password))
        .route(
            session::PASSWORD_PATH,
            web::post().to(login::submit_password),
        )
        .route(structure::ACCOUNTS_PATH, read().to(structure::show))
        .route(structure::ACCOUNTS_PATH, web::post().to(structure::create))
        .route(
            "/structure/comptes/{id}",
            read().to(structure::show_details),
        )
        .route(
            "/structure/comptes/{id}",
            web::post().to(structure::update_details),
        )
        .route(
            "/structure/comptes/{id}/activation",
            web::post().to(structure::activate),
        )
        .route(
            "/structure/comptes/{id}/desactivation",
            web::post().to(structure::deactivate),
        )
        .route(
            "/structure/comptes/{id}/mot-de-passe",
            web::post().to(structure::reset_password),
        )
        .route(
            "/structure/comptes/{id}/identite",
            web::post().to(structure::unlink_identity),
        )
        .route(admin::PARTNERS_PATH, read().to(admin::list))
        .route(admin::PARTNERS_PATH, web::post().to(admin::create))
        .route("/admin/structures/{id}", read().to(admin::show))
        .route("/admin/structures/{id}", web::post().to(admin::update))
        .route(
            "/admin/structures/{id}/rgc",
            web::post().to(admin::replace_rgc),
        )
        .route(
            "/admin/structures/{id}/rgc/identite",
            web::post().to(admin::unlink_rgc_identity),
        )
        .route(
            "/admin/structures/{id}/rgc/reactivation",
            web::post().to(admin::reactivate_rgc),
        )
        .route(
            "/structure/comptes/{id}/suppression",
            web::post().to(structure::delete),
        )
        .route(synchronisation::SYNC_PATH, read().to(synchronisation::show))
        .route(activity::PARTNER_PATH, read().to(activity::show))
        .route(
            &format!("{}{}", activity::PARTNER_PATH, activity::CSV_SUFFIX),
            read().to(activity::show),
        )
        .route(activity::ADMIN_PATH, read().to(activity::show))
        .route(
            &format!("{}{}", activity::ADMIN_PATH, activity::CSV_SUFFIX),
            read().to(activity::show),
        )
        .route(
            announcements::ANNOUNCEMENTS_PATH,
            read().to(announcements::show),
        )
        .route(
            announcements::ANNOUNCEMENTS_PATH,
            web::post().to(announcements::publish),
        )
        .route(
            "/admin/annonces/{id}/retrait",
            web::post().to(announcements::withdraw),
        )
        .route("/journal", read().to(journal::journal))
        // A search counts in the activity follow-up.
        .route(offers::SEARCH_PATH, web::get().to(offers::search))
        .route("/offres/{id}", read().to(offers::show))
        .route("/offres/{id}/{action}", web::post().to(referrals::propose))
        .route("/offres/{id}/{action}", read().to(offers::back_to_offer))
        .route(RECORDS_PATH, read().to(referrals::list))
        .route("/mises-en-relation/{id}", read().to(referrals::show))
        // Printing the sheet is traced.
        .route(
            "/mises-en-relation/{id}/fiche",
            web::get().to(referrals::sheet),
        )
        .route(
            "/mises-en-relation/{id}/correction",
            read().to(referrals::show_correction),
        )
        .route(
            "/mises-en-relation/{id}/correction",
            web::post().to(referrals::correct),
        )
        .route("/agence/demandes/{token}", read().to(agency::show))
        .route("/agence/demandes/{token}", web::post().to(agency::submit))
        .route(mails::MAILS_PATH, read().to(mails::list))
        .route("/courriels/{id}/relance", web::post().to(mails::retry))
        .route(privacy::PRIVACY_PATH, read().to(privacy::show))
        .route(STYLESHEET_PATH, read().to(assets::stylesheet))
        .default_service(web::to(errors::not_found));
}
