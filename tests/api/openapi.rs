//! The API's OpenAPI document: served to anyone, and true to the routes.

use relais::api::OPENAPI_PATH;
use relais::apikeys::Scope;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app};

/// The body of the API's answer to an address it does not serve.
const NO_SUCH_ROUTE: &str = "Aucune ressource à cette adresse de l'API.";

#[tokio::test]
async fn the_document_is_public_and_each_operation_it_describes_is_served() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let response = app.get(OPENAPI_PATH).await;
    assert_eq!(response.status(), StatusCode::OK, "no key needed");
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.unwrap();
    // For `.ci/run`, which checks it against the OpenAPI specification.
    if let Some(path) = std::env::var_os("RELAIS_OPENAPI_OUT") {
        std::fs::write(path, document.to_string()).unwrap();
    }
    assert_eq!(document["openapi"], "3.0.3");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));

    // Each operation with a key of each scope, and with its path parameters
    // plausible (the first allowed value) then invalid.
    let keys = [app.key(Scope::Search).await, app.key(Scope::Ingest).await];
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let described: Vec<&String> =
                operation["responses"].as_object().unwrap().keys().collect();
            let in_path: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|parameter| parameter["in"] == "path")
                .collect();
            for plausible in [true, false] {
                let mut address = path.clone();
                for parameter in &in_path {
                    let value = match plausible {
                        true => parameter["schema"]["enum"][0].as_str().unwrap_or("ABC123"),
                        false => "pas%20valide",
                    };
                    let name = parameter["name"].as_str().unwrap();
                    address = address.replace(&format!("{{{name}}}"), value);
                }
                for key in &keys {
                    let response = app
                        .client
                        .request(method.clone(), format!("{}{address}", app.address))
                        .bearer_auth(key)
                        .json(&json!({}))
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    let body = response.text().await.unwrap();
                    assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {address}");
                    assert!(!body.contains(NO_SUCH_ROUTE), "{method} {address}: {body}");
                    assert!(
                        described.contains(&&status.as_u16().to_string()),
                        "{method} {address} answered {status}, described: {described:?}"
                    );
                }
            }
            operations += 1;
        }
    }
    assert_eq!(operations, 6);
    // A path served, another method: 405 and what it takes.
    for (method, path, allowed) in [
        (Method::POST, "/api/v1/offres/search", "GET, HEAD"),
        (Method::DELETE, "/api/v1/offres/100AAAA", "GET, HEAD, PUT"),
    ] {
        let response = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()["allow"], allowed, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["codeHttp"], 405);
    }
    let unknown = app.get("/api/v1/nulle-part").await.text().await.unwrap();
    assert!(
        unknown.contains(NO_SUCH_ROUTE),
        "the marker above is the one served"
    );
}
