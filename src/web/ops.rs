//! Endpoints for operators and load balancers.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::Database;
use crate::telemetry::Metrics;

/// Alive: the process answers. Says nothing about the database.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers and is fully migrated.
pub async fn readyz(database: web::Data<Database>) -> HttpResponse {
    let readiness = database.readiness().await;
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
