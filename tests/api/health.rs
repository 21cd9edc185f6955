use std::time::Duration;

use relais::apikeys::Scope;
use serde_json::Value;

use crate::offers::offer;
use crate::on_each_backend;

on_each_backend! {
    async fn healthz_says_the_process_is_alive(app) {
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }

    async fn readiness_follows_the_database(app) {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["checks"]["database"], "ok");
        assert_eq!(body["checks"]["migrations"], "ok");

        app.cut_database();
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["ready"], false);
        let database = body["checks"]["database"].as_str().unwrap();
        assert_ne!(database, "ok", "the body names the database as the problem");
        // Liveness does not depend on the database: the process is fine.
        assert_eq!(app.get("/healthz").await.status(), 200);

        app.restore_database();
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    async fn the_index_follows_again_once_its_folder_can_be_written(app) {
        let ingest = app.key(Scope::Ingest).await;
        let search = app.key(Scope::Search).await;
        assert_eq!(app.put_offer(&ingest, &offer("120AAAA")).await.status(), 201);
        app.wait_for_index().await;

        // The folder fails: the offer is stored, the node says it is not
        // ready rather than serve searches that miss it.
        app.cut_index_folder();
        assert_eq!(app.put_offer(&ingest, &offer("121AAAA")).await.status(), 201);
        assert_eq!(app.readiness_becomes(503).await, 503);
        let body: Value = app.get("/readyz").await.json().await.unwrap();
        assert_ne!(body["checks"]["index"], "ok", "{body}");

        // Once it can be written again, the indexer starts over from its
        // last commit and catches up, without a restart.
        app.restore_index_folder();
        let caught_up = tokio::time::timeout(Duration::from_secs(30), app.wait_for_index()).await;
        assert!(caught_up.is_ok(), "the index never caught up");
        assert_eq!(app.readiness_becomes(200).await, 200);
        let found: Value = app.search(&search, "motsCles=electricien").await.json().await.unwrap();
        let ids: Vec<&str> = found["resultats"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(&"121AAAA"), "{ids:?}");
    }

    async fn every_response_carries_a_request_id(app) {
        let first = app.get("/healthz").await;
        let second = app.get("/page-qui-n-existe-pas").await;
        let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id(&first).len(), 36, "a UUID");
        assert_ne!(id(&first), id(&second), "one id per request");

        let relayed = app
            .client
            .get(format!("{}/healthz", app.address))
            .header("x-request-id", "lb-1234.abc")
            .send()
            .await
            .unwrap();
        assert_eq!(id(&relayed), "lb-1234.abc", "a load balancer's id is kept");

        let forged = app
            .client
            .get(format!("{}/healthz", app.address))
            .header("x-request-id", "<script>")
            .send()
            .await
            .unwrap();
        assert_ne!(id(&forged), "<script>", "an unsafe id is replaced");
    }

    async fn metrics_count_requests_by_route_and_status(app) {
        app.get("/connexion").await;
        app.get("/connexion").await;
        app.get("/nulle-part").await;
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains(r#"relais_http_requests_total{method="GET",route="/connexion",status="200"} 2"#),
            "{metrics}"
        );
        assert!(metrics.contains(r#"status="404""#), "{metrics}");
        assert!(
            metrics.contains(r#"relais_http_request_duration_seconds_count{method="GET",route="/connexion"} 2"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"relais_db_pool_connections{state="max"} 4"#),
            "{metrics}"
        );
    }
}

on_each_backend! {
    async fn head_requests_get_the_headers_a_get_would(app) {
        // Uptime monitors and link checkers ask with HEAD.
        let client = crate::helpers::browser();
        for (path, status, content_type) in [
            ("/healthz", 200, "application/json"),
            ("/connexion", 200, "text/html; charset=utf-8"),
            ("/api/v1/openapi.json", 200, "application/json"),
            ("/nulle-part", 404, "text/html; charset=utf-8"),
        ] {
            let get = client.get(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(get.status(), status, "GET {path}");
            let get_length = get.headers()["content-length"].clone();
            assert_eq!(get_length.to_str().unwrap(), get.bytes().await.unwrap().len().to_string(), "GET {path}");
            let head = client.head(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(head.status(), status, "HEAD {path}");
            assert_eq!(head.headers()["content-type"], content_type, "HEAD {path}");
            assert_eq!(head.headers()["content-length"], get_length, "HEAD {path}: the length of the GET's body");
        }
        // A page behind sign-in sends to it, as a GET would.
        let head = client.head(format!("{}/mises-en-relation", app.address)).send().await.unwrap();
        assert_eq!(head.status(), 303);
        assert!(head.headers()["location"].to_str().unwrap().starts_with("/connexion"));
    }
}
