//! Static files compiled into the binary: no network, no CDN.

use actix_web::HttpResponse;
use actix_web::http::header;

pub const STYLESHEET_PATH: &str = "/static/relais.css";
const STYLESHEET: &str = include_str!("static/relais.css");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}
