//! The ingest API, keys, statuses and the bulk import.

use relais::apikeys::Scope;
use serde_json::{Value, json};

use crate::on_each_backend;

/// A valid offer; tests change what they look at.
pub fn offer(id: &str) -> Value {
    json!({
        "id": id,
        "intitule": "Électricien / Électricienne du bâtiment (H/F)",
        "description": "Vous installez des tableaux électriques sur nos chantiers.",
        "dateCreation": (chrono::Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "lieuTravail": {"libelle": "13 - Aix-en-Provence", "latitude": 43.52994, "longitude": 5.44765,
                        "codePostal": "13090", "commune": "13001"},
        "romeCode": "F1602",
        "romeLibelle": "Électricien / Électricienne du bâtiment",
        "entreprise": {"nom": "Lumière Provence"},
        "typeContrat": "CDI",
        "natureContrat": "Contrat travail",
        "experienceExige": "E",
        "experienceLibelle": "Expérience exigée de 2 An(s)",
        "qualificationCode": "6",
        "dureeTravailLibelleConverti": "Temps plein",
        "codeAgence": "13013"
    })
}

on_each_backend! {
    async fn offers_are_created_replaced_and_read_back(app) {
        let ingest = app.key(Scope::Ingest).await;
        let mut document = offer("100AAAA");
        let created = app.put_offer(&ingest, &document).await;
        assert_eq!(created.status(), 201);
        assert_eq!(created.json::<Value>().await.unwrap()["resultat"], "creee");

        let again = app.put_offer(&ingest, &document).await;
        assert_eq!(again.status(), 200);
        assert_eq!(again.json::<Value>().await.unwrap()["resultat"], "inchangee");

        document["intitule"] = json!("Électricien confirmé (H/F)");
        let replaced = app.put_offer(&ingest, &document).await;
        assert_eq!(replaced.status(), 200);
        assert_eq!(replaced.json::<Value>().await.unwrap()["resultat"], "modifiee");

        let read: Value = app
            .client
            .get(format!("{}/api/v1/offres/100AAAA", app.address))
            .bearer_auth(app.key(Scope::Search).await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(read["intitule"], "Électricien confirmé (H/F)");
        assert_eq!(read["statut"], "active");
        assert_eq!(read["publiee"], true, "our fields get their defaults");
        assert_eq!(read["avecPreselection"], false);

        // A new version that no longer states a value clears its column.
        document.as_object_mut().unwrap().remove("romeCode");
        assert_eq!(app.put_offer(&ingest, &document).await.status(), 200);
        let (rome_code, title): (Option<String>, String) = app
            .database
            .run(|conn| {
                use diesel::prelude::*;
                use relais::db::schema::offers;
                offers::table
                    .find("100AAAA")
                    .select((offers::rome_code, offers::title))
                    .get_result(conn)
                    .map_err(relais::db::DbError::from)
            })
            .await
            .unwrap();
        assert_eq!((rome_code, title.as_str()), (None, "Électricien confirmé (H/F)"));
    }

    async fn bad_offers_get_a_400_naming_each_field_and_change_nothing(app) {
        let ingest = app.key(Scope::Ingest).await;
        let url = format!("{}/api/v1/offres/200BBBB", app.address);
        let not_json = app.client.put(&url).bearer_auth(&ingest).body("{pas du json").send().await.unwrap();
        assert_eq!(not_json.status(), 400);
        assert!(not_json.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("JSON invalide"));

        let mismatch = app.client.put(&url).bearer_auth(&ingest).json(&offer("300CCCC")).send().await.unwrap();
        assert_eq!(mismatch.status(), 400);
        let body: Value = mismatch.json().await.unwrap();
        assert_eq!(body["erreurs"][0]["champ"], "id");

        let mut bad = offer("200BBBB");
        bad["codeAgence"] = json!("99999");
        bad["dateCreation"] = json!("hier");
        bad["lieuTravail"]["latitude"] = json!("nord");
        bad["accessibleTH"] = json!("oui");
        let response = app.put_offer(&ingest, &bad).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["codeHttp"], 400);
        let fields: Vec<&str> = body["erreurs"].as_array().unwrap().iter().map(|e| e["champ"].as_str().unwrap()).collect();
        for field in ["dateCreation", "lieuTravail.latitude", "accessibleTH"] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }

        // Too large a body: the API's own error, in JSON.
        let mut huge = offer("200BBBB");
        huge["description"] = json!("x".repeat(300 * 1024));
        let response = app.put_offer(&ingest, &huge).await;
        assert_eq!(response.status(), 413);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["codeHttp"], 413);
        assert!(body["message"].as_str().unwrap().contains("trop grand"), "{body}");

        // A NUL character, which PostgreSQL's text refuses: named, not a 503.
        let mut nul = offer("200BBBB");
        nul["intitule"] = json!("Cariste\u{0}");
        let response = app.put_offer(&ingest, &nul).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["erreurs"][0]["champ"], "intitule", "{body}");

        let read = app.client.get(&url).bearer_auth(&ingest).send().await.unwrap();
        assert_eq!(read.status(), 404, "nothing was created");
        assert_eq!(app.database.run(relais::offers::store::count).await.unwrap(), 0);
    }

    async fn keys_and_scopes_guard_the_api(app) {
        let ingest = app.key(Scope::Ingest).await;
        let search = app.key(Scope::Search).await;
        let url = format!("{}/api/v1/offres/search", app.address);
        assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
        assert_eq!(app.client.get(&url).bearer_auth("relais_faux").send().await.unwrap().status(), 401);
        assert_eq!(app.search(&ingest, "").await.status(), 403);
        assert_eq!(app.put_offer(&search, &offer("400DDDD")).await.status(), 403);
        assert_eq!(app.search(&search, "").await.status(), 204);
        // The scheme's name in any case, as HTTP allows.
        let lower_case = app.client.get(&url).header("Authorization", format!("bearer {search}")).send().await.unwrap();
        assert_eq!(lower_case.status(), 204);
        let basic = app.client.get(&url).header("Authorization", format!("Basic {search}")).send().await.unwrap();
        assert_eq!(basic.status(), 401);

        let name = "a-revoquer";
        let secret = app
            .database
            .run(move |conn| relais::apikeys::create(conn, name, Scope::Search, chrono::Utc::now().naive_utc()))
            .await
            .unwrap();
        assert_eq!(app.search(&secret, "").await.status(), 204);
        app.database
            .run(move |conn| relais::apikeys::revoke(conn, name, chrono::Utc::now().naive_utc()))
            .await
            .unwrap();
        assert_eq!(app.search(&secret, "").await.status(), 401);
    }

    async fn suspension_hides_an_offer_and_reactivation_brings_it_back(app) {
        let ingest = app.key(Scope::Ingest).await;
        let search = app.key(Scope::Search).await;
        app.put_offer(&ingest, &offer("500EEEE")).await;
        app.wait_for_index().await;
        assert_eq!(app.search(&search, "motsCles=electricien").await.status(), 200);

        assert_eq!(app.put_status(&ingest, "500EEEE", "suspendue").await.status(), 200);
        app.wait_for_index().await;
        assert_eq!(app.search(&search, "motsCles=electricien").await.status(), 204);

        assert_eq!(app.put_status(&ingest, "500EEEE", "active").await.status(), 200);
        app.wait_for_index().await;
        assert_eq!(app.search(&search, "motsCles=electricien").await.status(), 200);

        assert_eq!(app.put_status(&ingest, "500EEEE", "fermee").await.status(), 400);
        assert_eq!(app.put_status(&ingest, "INCONNUE", "annulee").await.status(), 404);
    }

    async fn import_keeps_good_records_and_reports_bad_lines(app) {
        let path = app.dir.path().join("offres.jsonl");
        let mut bad = offer("600BAD1");
        bad["codeAgence"] = json!("00000");
        let lines = [offer("600GGG1").to_string(), "{pas du json}".to_owned(), bad.to_string(), offer("600GGG2").to_string()];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let report = import(&app, &path).await;
        assert_eq!(report.created, 2);
        let places: Vec<&str> = report.rejected.iter().map(|r| r.place.as_str()).collect();
        assert_eq!(places, ["ligne 2", "ligne 3"]);
        assert!(report.rejected[1].reason.contains("codeAgence"), "{:?}", report.rejected);

        let again = import(&app, &path).await;
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2), "idempotent");

        let page = app.dir.path().join("page.json");
        std::fs::write(&page, serde_json::to_string_pretty(&json!({"resultats": [offer("600GGG3")]})).unwrap()).unwrap();
        let report = import(&app, &page).await;
        assert_eq!(report.created, 1);

        // A real export of the API names no agency: the commune's, as the
        // sync gives it, and a clear refusal outside every agency's communes.
        let upstream = |id: &str, commune: &str| {
            let mut document = offer(id);
            document.as_object_mut().unwrap().remove("codeAgence");
            document["lieuTravail"]["commune"] = json!(commune);
            document
        };
        let export = app.dir.path().join("export.json");
        let offers = [upstream("600GGG4", "13041"), upstream("600GGG5", "75056")];
        std::fs::write(&export, json!({"resultats": offers}).to_string()).unwrap();
        let report = import(&app, &export).await;
        assert_eq!(report.created, 1);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].place, "resultats[1]");
        assert!(report.rejected[0].reason.contains("aucune agence n'est configurée pour la commune 75056"), "{:?}", report.rejected);
        let search = app.key(Scope::Search).await;
        let read: Value = app.client.get(format!("{}/api/v1/offres/600GGG4", app.address))
            .bearer_auth(&search).send().await.unwrap().json().await.unwrap();
        assert_eq!(read["codeAgence"], "13181", "Gardanne's commune");
    }

    async fn an_offer_given_twice_in_an_import_is_kept_at_its_last_version(app) {
        // Offers are written by batches: the versions of one offer within a
        // batch must still count, and be kept, as if written one by one.
        let titled = |id: &str, title: &str| {
            let mut document = offer(id);
            document["intitule"] = json!(format!("{title} {id} (H/F)"));
            document
        };
        let versions = |id: &str| (titled(id, "Plombier"), titled(id, "Couvreur"));
        let ((a, a_changed), (b, b_changed)) = (versions("700AAA1"), versions("700BBB1"));
        let path = app.dir.path().join("deux-fois.jsonl");
        let lines = [&a, &a, &b, &b_changed, &a_changed].map(|line| line.to_string());
        std::fs::write(&path, lines.join("\n")).unwrap();

        let first = import(&app, &path).await;
        assert_eq!((first.created, first.updated, first.unchanged), (2, 2, 1));
        let again = import(&app, &path).await;
        assert_eq!((again.created, again.updated, again.unchanged), (0, 4, 1), "each version against the one before");

        let search = app.key(Scope::Search).await;
        for id in ["700AAA1", "700BBB1"] {
            let read: Value = app.client.get(format!("{}/api/v1/offres/{id}", app.address))
                .bearer_auth(&search).send().await.unwrap().json().await.unwrap();
            assert_eq!(read["intitule"], format!("Couvreur {id} (H/F)"), "{id}");
        }
        app.wait_for_index().await;
        let found = app.search(&search, "motsCles=couvreur").await;
        assert_eq!(found.headers()["content-range"], "offres 0-1/2");
        assert_eq!(found.headers()["accept-range"], "offres 150", "France Travail's header");
        let first_versions = app.search(&search, "motsCles=plombier").await;
        assert_eq!(first_versions.status(), 204, "the first versions left the index");
    }

    async fn referentials_are_served(app) {
        let search = app.key(Scope::Search).await;
        for (name, code) in [("communes", "13001"), ("departements", "2A"), ("metiers", "F1602"),
                             ("secteursActivites", "43"), ("typesContrats", "CDI"), ("naturesContrats", "E2")] {
            let response = app.client.get(format!("{}/api/v1/referentiel/{name}", app.address))
                .bearer_auth(&search).send().await.unwrap();
            assert_eq!(response.status(), 200, "{name}");
            let list: Vec<Value> = response.json().await.unwrap();
            assert!(list.iter().any(|e| e["code"] == code && e["libelle"].is_string()), "{name} lacks {code}");
        }
        // As France Travail lists them, with their region.
        let departments: Vec<Value> = app.client.get(format!("{}/api/v1/referentiel/departements", app.address))
            .bearer_auth(&search).send().await.unwrap().json().await.unwrap();
        assert_eq!(departments.len(), 101);
        let bdr = departments.iter().find(|d| d["code"] == "13").unwrap();
        assert_eq!(bdr, &serde_json::json!({"code": "13", "libelle": "Bouches-du-Rhône",
            "region": {"code": "93", "libelle": "Provence-Alpes-Côte d'Azur"}}));
        let unknown = app.client.get(format!("{}/api/v1/referentiel/planetes", app.address))
            .bearer_auth(&search).send().await.unwrap();
        assert_eq!(unknown.status(), 404);
    }
}

/// Runs the import command's work on a file, as `relais import` does.
async fn import(
    app: &crate::helpers::TestApp,
    path: &std::path::Path,
) -> relais::offers::import::ImportReport {
    let codes: std::collections::HashSet<String> =
        ["13013", "13483", "13181", "13501", "13196", "84526"]
            .map(String::from)
            .into();
    let rule =
        relais::offers::sync::agency_rule::AgencyRule::parse(&app.settings.sync.agencies, &codes)
            .unwrap();
    let path = path.to_owned();
    app.database
        .run(move |conn| {
            Ok::<_, relais::db::DbError>(relais::offers::import::import_file(
                conn,
                &codes,
                &rule,
                &path,
                chrono::Utc::now().naive_utc(),
                &|_| {},
            ))
        })
        .await
        .unwrap()
        .unwrap()
}
