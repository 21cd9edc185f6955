//! Endpoints for operators and load balancers.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::Database;
use crate::search::SearchIndex;
use crate::telemetry::Metrics;

pub const HEALTH_PATH: &str = "/healthz";
pub const READINESS_PATH: &str = "/readyz";
pub const METRICS_PATH: &str = "/metrics";
/// Answers for machines: no page, no announcement.
pub const OPERATIONS_PATHS: [&str; 3] = [HEALTH_PATH, READINESS_PATH, METRICS_PATH];

/// Alive: the process answers. Says nothing about the database.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers and is fully migrated, and the
/// search index has caught up with it, and still follows it.
pub async fn readyz(database: web::Data<Database>, search: web::Data<SearchIndex>) -> HttpResponse {
    let mut readiness = database.readiness().await;
    let index = if search.is_caught_up() {
        "ok".to_owned()
    } else {
        format!(
            "en retard sur la base (changement n°{} atteint)",
            search.applied_sequence()
        )
    };
    readiness.ready &= index == "ok";
    readiness.checks.insert("index", index);
    if readiness.ready {
        HttpResponse::Ok().json(readiness)
    } else {
        HttpResponse::ServiceUnavailable().json(readiness)
    }
}

pub async fn metrics(metrics: web::Data<Metrics>, database: web::Data<Database>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&database))
}
