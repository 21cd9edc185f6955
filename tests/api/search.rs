//! The search API: parameters, facets, distance, paging, restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use relais::apikeys::Scope;
use relais::search::geo::haversine_km;
use relais::search::params::{Context, SearchRequest};
use relais::search::query::{self, SearchResults};
use relais::search::schema::SCHEMA_VERSION;
use serde_json::{Value, json};

use crate::helpers::{self, Backend, TestApp, spawn_app, spawn_app_with};
use crate::offers::offer;
use crate::on_each_backend;

const AGENCIES: [&str; 6] = ["13013", "13483", "13181", "13501", "13196", "84526"];
const CONTRACTS: [&str; 3] = ["CDI", "CDD", "MIS"];
/// (commune, postal code, label)
const PLACES: [(&str, &str, &str); 4] = [
    ("13001", "13090", "13 - Aix-en-Provence"),
    ("13117", "13127", "13 - Vitrolles"),
    ("13041", "13120", "13 - Gardanne"),
    ("84089", "84120", "84 - Pertuis"),
];

/// Which offers a query must keep.
type Keep = Box<dyn Fn(&Value) -> bool>;

/// A varied, deterministic set of offers.
fn corpus(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut document = offer(&format!("T{i:05}"));
            let (commune, postal, label) = PLACES[i % PLACES.len()];
            let (lat, lon) = town_hall(commune);
            document["lieuTravail"] = json!({"libelle": label, "codePostal": postal, "commune": commune,
                                              "latitude": lat + (i as f64) * 0.001, "longitude": lon});
            if i % 7 == 0 {
                // No coordinates: the commune's point stands in.
                document["lieuTravail"] = json!({"libelle": label, "codePostal": postal, "commune": commune});
            }
            document["typeContrat"] = json!(CONTRACTS[i % 3]);
            document["codeAgence"] = json!(AGENCIES[i % 6]);
            document["avecPreselection"] = json!(i % 5 == 0);
            document["contratAide"] = json!(i % 4 == 0);
            document["experienceLibelle"] = json!(["Débutant accepté", "6 Mois", "Expérience exigée de 2 An(s)", "Expérience exigée de 5 An(s)"][i % 4]);
            document["experienceExige"] = json!(if i % 4 == 0 { "D" } else { "E" });
            document["qualificationCode"] = json!(if i % 9 == 0 { "9" } else { "5" });
            document["dateCreation"] = json!((chrono::Utc::now() - chrono::Duration::hours(i as i64 * 7)).format("%Y-%m-%dT%H:%M:%SZ").to_string());
            document["dureeTravailLibelleConverti"] = json!(if i % 3 == 1 { "Temps partiel" } else { "Temps plein" });
            document["accessibleTH"] = json!(i % 6 == 1);
            document["secteurActivite"] = json!(if i % 2 == 0 { "47" } else { "43" });
            document["natureContrat"] = json!(if i % 8 == 3 { "Contrat apprentissage" } else { "Contrat travail" });
            document["iae"] = json!(i % 10 == 7);
            document["publiee"] = json!(i % 11 != 4);
            if i % 2 == 0 {
                document["intitule"] = json!(format!("Vendeur / Vendeuse en boulangerie n°{i}"));
                document["romeLibelle"] = json!("Vendeur / Vendeuse en alimentation");
                document["romeCode"] = json!("D1106");
            }
            document
        })
        .collect()
}

fn town_hall(commune: &str) -> (f64, f64) {
    let commune = relais::referentials::get().commune(commune).unwrap();
    (commune.latitude, commune.longitude)
}

/// The offer's point, or its commune's town hall when it has none.
fn position(document: &Value) -> (f64, f64) {
    let place = &document["lieuTravail"];
    match (place["latitude"].as_f64(), place["longitude"].as_f64()) {
        (Some(lat), Some(lon)) => (lat, lon),
        _ => town_hall(place["commune"].as_str().unwrap()),
    }
}

async fn load(app: &TestApp, documents: &[Value]) -> String {
    let ingest = app.key(Scope::Ingest).await;
    for document in documents {
        assert!(app.put_offer(&ingest, document).await.status().is_success());
    }
    app.wait_for_index().await;
    app.key(Scope::Search).await
}

/// Every result of a search, page by page.
async fn all_ids(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut start = 0;
    loop {
        let response = app
            .search(key, &format!("{query}&range={start}-{}", start + 9))
            .await;
        if response.status() == 204 {
            return ids;
        }
        let last_page = response.status() == 200;
        ids.extend(ids_of(&response.json().await.unwrap()));
        if last_page {
            return ids;
        }
        start += 10;
    }
}

/// The ids of a page's offers, in order.
fn ids_of(body: &Value) -> Vec<String> {
    body["resultats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An offer saying `description`.
fn described(id: &str, description: &str) -> Value {
    let mut document = offer(id);
    document["description"] = json!(description);
    document
}

/// An offer titled `title`, saying `description`.
fn titled(id: &str, title: &str, description: &str) -> Value {
    let mut document = described(id, description);
    document["intitule"] = json!(title);
    document
}

/// Ids in their own order, for queries whose matches tie or whose order
/// is not the point.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn facet(body: &Value, name: &str) -> BTreeMap<String, u64> {
    body["filtresPossibles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filtre"] == name)
        .map(|f| {
            f["agregation"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["valeurPossible"].as_str().unwrap().to_owned(),
                        v["nbResultats"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn brute_force(
    documents: &[Value],
    keep: impl Fn(&Value) -> bool,
    field: &str,
) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for document in documents.iter().filter(|d| keep(d)) {
        let value = match &document[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        *counts.entry(value).or_default() += 1;
    }
    counts
}

on_each_backend! {
    async fn keywords_ignore_accents_and_plurals_and_must_all_match(app) {
        let mut plural = offer("KW00001");
        plural["intitule"] = json!("Électriciens pour chantiers");
        let mut other = offer("KW00002");
        other["intitule"] = json!("Plombier");
        other["romeLibelle"] = json!("Plombier / Plombière");
        other["description"] = json!("Installation sanitaire.");
        let key = load(&app, &[plural, other]).await;
        assert_eq!(all_ids(&app, &key, "motsCles=electricien").await, ["KW00001"]);
        assert_eq!(all_ids(&app, &key, "motsCles=ÉLECTRICIENS").await, ["KW00001"]);
        assert_eq!(all_ids(&app, &key, "motsCles=plombier,sanitaire").await, ["KW00002"]);
        assert!(all_ids(&app, &key, "motsCles=plombier electricien").await.is_empty(), "all keywords must match");
        // A very common word beside others is passed over.
        assert_eq!(all_ids(&app, &key, "motsCles=plombier,pour").await, ["KW00002"]);
    }

    async fn a_word_asked_twice_finds_the_same_offers_and_weighs_twice(app) {
        // Both words in as many offers: they weigh alike, but for how often
        // an offer says them.
        let key = load(&app, &[
            described("TW00001", "immeuble immeuble immeuble immeuble gardien"),
            described("TW00002", "gardien gardien gardien gardien immeuble"),
            described("TW00003", "gardien immeuble"),
            described("TW00004", "gardien"),
            described("TW00005", "immeuble"),
        ]).await;
        let both = ["TW00001", "TW00002", "TW00003"];
        assert_eq!(sorted(all_ids(&app, &key, "motsCles=gardien,immeuble").await), both);
        // "gardienne" is "gardien" once analysed.
        let gardien_twice = all_ids(&app, &key, "motsCles=gardien,gardienne,immeuble").await;
        let immeuble_twice = all_ids(&app, &key, "motsCles=immeubles,gardien,immeuble").await;
        assert_eq!(sorted(gardien_twice.clone()), both);
        assert_eq!(sorted(immeuble_twice.clone()), both);
        let rank = |ids: &[String], id: &str| ids.iter().position(|i| i == id);
        assert!(rank(&gardien_twice, "TW00002") < rank(&gardien_twice, "TW00001"), "{gardien_twice:?}");
        assert!(rank(&immeuble_twice, "TW00001") < rank(&immeuble_twice, "TW00002"), "{immeuble_twice:?}");
        // The same phrase twice is that phrase.
        assert_eq!(
            sorted(all_ids(&app, &key, "motsCles=%22gardien%20immeuble%22,%22gardienne%20immeuble%22").await),
            ["TW00002", "TW00003"]
        );
    }

    async fn a_word_of_the_title_counts_as_three_in_the_text(app) {
        // Texts of the same length: the word once in the title, twice or
        // four times in the description.
        let key = load(&app, &[
            titled("TT00001", "Tuyauteur confirmé", "soudeur soudeur atelier atelier"),
            titled("TT00002", "Soudeur confirmé", "atelier atelier atelier atelier"),
            titled("TT00003", "Tuyauteur confirmé", "soudeur soudeur soudeur soudeur"),
        ]).await;
        assert_eq!(all_ids(&app, &key, "motsCles=soudeur").await, ["TT00003", "TT00002", "TT00001"]);
        assert_eq!(all_ids(&app, &key, "motsCles=soudeur,confirme").await, ["TT00003", "TT00002", "TT00001"]);
    }

    async fn a_quoted_phrase_needs_its_words_in_order_accents_and_plurals_ignored(app) {
        let cook = |id: &str, title: &str, description: &str| {
            let mut document = titled(id, title, description);
            document["romeLibelle"] = json!("Cuisinier / Cuisinière");
            document
        };
        let key = load(&app, &[
            cook("PH00001", "Chef de cuisine (H/F)", "Restaurant du Cours Mirabeau."),
            cook("PH00002", "Cuisinier (H/F)", "Le chef d'équipe vous confie la cuisine du soir."),
            cook("PH00003", "Commis (H/F)", "Sous l'autorité du Chef de Cuisine, vous préparez les entrées."),
            cook("PH00004", "Chef cuisinier (H/F)", "Cuisine traditionnelle."),
        ]).await;
        assert_eq!(sorted(all_ids(&app, &key, "motsCles=chef,cuisine").await), ["PH00001", "PH00002", "PH00003", "PH00004"]);
        // In the title or the description, in that order, with the stop word's gap.
        assert_eq!(sorted(all_ids(&app, &key, "motsCles=%22chef%20de%20cuisine%22").await), ["PH00001", "PH00003"]);
        assert_eq!(sorted(all_ids(&app, &key, "motsCles=%22CHEFS%20DE%20CUISINES%22").await), ["PH00001", "PH00003"]);
        assert_eq!(all_ids(&app, &key, "motsCles=%22cuisine%20de%20chef%22").await, Vec::<String>::new());
        // A phrase and a word together: both must match.
        assert_eq!(all_ids(&app, &key, "motsCles=%22chef%20de%20cuisine%22,entr%C3%A9es").await, ["PH00003"]);
        // The title still weighs more.
        assert_eq!(all_ids(&app, &key, "motsCles=%22chef%20de%20cuisine%22").await[0], "PH00001");
    }

    async fn a_phrase_is_its_words_one_after_the_other_however_long(app) {
        let key = load(&app, &[
            described("PL00001", "Responsable de la propreté urbaine du quartier."),
            // Both pairs of the phrase, but not one after the other.
            described("PL00002", "Responsable de la propreté des écoles ; propreté urbaine assurée par d'autres."),
            // The gap of the phrase's stop word, filled by another word.
            described("PL00003", "Chef pâtissier cuisine maison."),
            described("PL00004", "Chef de cuisine, responsable propreté."),
        ]).await;
        assert_eq!(all_ids(&app, &key, "motsCles=%22responsable%20de%20la%20propret%C3%A9%20urbaine%22").await, ["PL00001"]);
        assert_eq!(sorted(all_ids(&app, &key, "motsCles=%22propret%C3%A9%20urbaine%22").await), ["PL00001", "PL00002"]);
        assert_eq!(all_ids(&app, &key, "motsCles=%22chef%20de%20cuisine%22").await, ["PL00004"]);
        assert_eq!(all_ids(&app, &key, "motsCles=%22responsable%20propret%C3%A9%22").await, ["PL00004"]);
    }

    async fn facet_counts_match_a_brute_force_count_and_ignore_their_own_filter(app) {
        let documents = corpus(150);
        let key = load(&app, &documents).await;
        let response = app.search(&key, "typeContrat=CDI&avecPreselection=false").await;
        assert!(response.status().is_success());
        let total: usize = response.headers()["content-range"].to_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
        let body: Value = response.json().await.unwrap();
        let cdi = |d: &Value| d["typeContrat"] == "CDI";
        let not_preselected = |d: &Value| d["avecPreselection"] == false;
        assert_eq!(total, documents.iter().filter(|d| cdi(d) && not_preselected(d)).count());
        // The contract facet ignores typeContrat but keeps the other filter.
        assert_eq!(facet(&body, "typeContrat"), brute_force(&documents, not_preselected, "typeContrat"));
        assert_eq!(facet(&body, "avecPreselection"), brute_force(&documents, cdi, "avecPreselection"));
        assert_eq!(facet(&body, "codeAgence"), brute_force(&documents, |d| cdi(d) && not_preselected(d), "codeAgence"));
        assert_eq!(facet(&body, "contratAide"), brute_force(&documents, |d| cdi(d) && not_preselected(d), "contratAide"));
        let experience: u64 = facet(&body, "experience").values().sum();
        assert_eq!(experience as usize, total);

        // The same with keywords (counted unscored by blocks, then those that passed scored).
        let response = app.search(&key, "motsCles=vendeur&typeContrat=CDI").await;
        let total: usize = response.headers()["content-range"].to_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
        let body: Value = response.json().await.unwrap();
        let seller = |d: &Value| d["intitule"].as_str().unwrap().starts_with("Vendeur");
        assert_eq!(total, documents.iter().filter(|d| seller(d) && cdi(d)).count());
        assert_eq!(facet(&body, "typeContrat"), brute_force(&documents, seller, "typeContrat"));
        assert_eq!(facet(&body, "codeAgence"), brute_force(&documents, |d| seller(d) && cdi(d), "codeAgence"));
    }

    async fn a_code_newer_than_the_referentials_is_a_facet_and_a_filter(app) {
        // France Travail may add a contract type, a nature, a ROME code or a
        // sector before relais's copy of its referentials has it.
        let mut documents = corpus(6);
        documents[1]["typeContrat"] = json!("NVX");
        documents[2]["natureContrat"] = json!("Contrat d'un genre nouveau");
        documents[3]["romeCode"] = json!("Z9999");
        documents[5]["secteurActivite"] = json!("04");
        let key = load(&app, &documents).await;
        let body: Value = app.search(&key, "").await.json().await.unwrap();
        assert_eq!(facet(&body, "typeContrat").get("NVX"), Some(&1), "{body}");
        assert_eq!(facet(&body, "natureContrat").get("Contrat d'un genre nouveau"), Some(&1), "{body}");
        for (query, expected) in [
            ("typeContrat=NVX", "T00001"),
            ("typeContrat=NVX,CDI", "T00001"),
            ("natureContrat=Contrat%20d'un%20genre%20nouveau", "T00002"),
            ("codeROME=Z9999", "T00003"),
            ("secteurActivite=04", "T00005"),
        ] {
            let found = all_ids(&app, &key, query).await;
            assert!(found.contains(&expected.to_owned()), "{query}: {found:?}");
            assert!(found.len() < 6, "{query} filters nothing: {found:?}");
        }
        // A value no offer has is still refused.
        for query in ["typeContrat=XYZ", "codeROME=Z9998", "secteurActivite=34"] {
            assert_eq!(app.search(&key, query).await.status(), 400, "{query}");
        }
    }

    async fn distance_follows_the_haversine_formula(app) {
        let documents = corpus(40);
        let key = load(&app, &documents).await;
        let aix = town_hall("13001");
        let expected: BTreeSet<String> = documents
            .iter()
            .filter(|d| haversine_km(aix, position(d)) <= 20.0)
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect();
        let found: BTreeSet<String> = all_ids(&app, &key, "commune=13001&distance=20").await.into_iter().collect();
        assert_eq!(found, expected);
        assert!(!found.is_empty() && found.len() < documents.len());

        // Nearest first, then newest (lower index), then id.
        let vitrolles = town_hall("13117");
        let mut by_distance: Vec<(f64, usize, String)> = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (haversine_km(vitrolles, position(d)), i, d["id"].as_str().unwrap().to_owned()))
            .collect();
        by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let expected: Vec<String> = by_distance.into_iter().map(|(_, _, id)| id).collect();
        assert_eq!(all_ids(&app, &key, "commune=13117&distance=100&sort=2").await, expected);
        let only_aix = all_ids(&app, &key, "commune=13001&distance=0").await;
        assert_eq!(only_aix.len(), documents.iter().filter(|d| d["lieuTravail"]["commune"] == "13001").count());
        let department = all_ids(&app, &key, "departement=84").await;
        assert_eq!(department.len(), documents.iter().filter(|d| d["lieuTravail"]["commune"] == "84089").count());
    }

    async fn pages_are_stable_and_report_their_range(app) {
        let documents = corpus(25);
        let key = load(&app, &documents).await;
        let first = app.search(&key, "sort=1&range=0-9").await;
        assert_eq!(first.status(), 206);
        assert_eq!(first.headers()["content-range"], "offres 0-9/25");
        let last = app.search(&key, "sort=1&range=20-29").await;
        assert_eq!(last.status(), 200);
        assert_eq!(last.headers()["content-range"], "offres 20-24/25");
        assert_eq!(app.search(&key, "motsCles=astronaute").await.status(), 204);

        for sort in ["0", "1", "2&commune=13001&distance=200"] {
            let ids = all_ids(&app, &key, &format!("sort={sort}")).await;
            let unique: BTreeSet<&String> = ids.iter().collect();
            assert_eq!((ids.len(), unique.len()), (25, 25), "sort {sort}: pages overlap or miss offers");
        }
        let newest = all_ids(&app, &key, "sort=1").await;
        assert_eq!(newest[0], "T00000", "newest first");
    }

    async fn the_order_by_relevance_holds_however_the_page_is_ranked(app) {
        // Scores that differ (the word repeated) and scores that tie (the
        // same text): the ties go newest first.
        let documents: Vec<Value> = corpus(150)
            .into_iter()
            .enumerate()
            .map(|(i, mut document)| {
                let repeated = vec!["vendeur"; i % 4].join(" ");
                document["description"] = json!(format!("Rayon boulangerie. {repeated}"));
                document
            })
            .collect();
        // Written oldest first: ties met later in the index are newer, and
        // must still enter a page that is already full.
        let oldest_first: Vec<Value> = documents.iter().rev().cloned().collect();
        let key = load(&app, &oldest_first).await;
        let page = |query: String| {
            let app = &app;
            let key = &key;
            async move { ids_of(&app.search(key, &query).await.json().await.unwrap()) }
        };
        for words in ["vendeur", "vendeur,boulangerie"] {
            // One page of all the matches, then pages of ten: the best
            // scores are sought with another cut-off each time.
            let whole = page(format!("motsCles={words}&range=0-149")).await;
            let expected = documents
                .iter()
                .filter(|d| d["intitule"].as_str().unwrap().starts_with("Vendeur") || d["description"].as_str().unwrap().contains("vendeur"))
                .count();
            assert_eq!(whole.len(), expected, "{words}");
            assert_eq!(all_ids(&app, &key, &format!("motsCles={words}")).await, whole, "{words}: paged");
            // A filter leaving few of the matches: only those are scored.
            for agency in AGENCIES {
                let of_agency: Vec<String> = whole
                    .iter()
                    .filter(|id| documents.iter().any(|d| d["id"] == id.as_str() && d["codeAgence"] == agency))
                    .cloned()
                    .collect();
                assert_eq!(page(format!("motsCles={words}&codeAgence={agency}&range=0-149")).await, of_agency, "{words}, {agency}");
            }
        }
        // The word in the title and most often in the text ranks first
        // (every fourth offer from the third: the same text, so newest first).
        assert_eq!(page("motsCles=vendeur&range=0-1".into()).await, ["T00002", "T00006"]);
    }

    async fn browsing_without_keywords_counts_and_pages_the_living_offers_only(app) {
        // Without keywords and with facet filters alone, counts come from
        // each segment's counts by combination of facet values and pages
        // from its offers newest first: suspended and changed offers must
        // leave both at once.
        let mut documents = corpus(90);
        let key = load(&app, &documents).await;
        let query = "typeContrat=CDI,MIS&avecPreselection=false";
        let check = |documents: Vec<Value>, when: &'static str| {
            let app = &app;
            let key = &key;
            async move {
                let contract = |d: &Value| d["typeContrat"] != "CDD";
                let not_preselected = |d: &Value| d["avecPreselection"] == false;
                let mut expected: Vec<&Value> = documents.iter().filter(|d| contract(d) && not_preselected(d)).collect();
                expected.sort_by(|a, b| b["dateCreation"].as_str().cmp(&a["dateCreation"].as_str()).then(a["id"].as_str().cmp(&b["id"].as_str())));
                let expected: Vec<String> = expected.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
                assert_eq!(all_ids(app, key, query).await, expected, "{when}: the pages");
                let body: Value = app.search(key, &format!("{query}&range=0-149")).await.json().await.unwrap();
                assert_eq!(facet(&body, "typeContrat"), brute_force(&documents, not_preselected, "typeContrat"), "{when}");
                assert_eq!(facet(&body, "avecPreselection"), brute_force(&documents, contract, "avecPreselection"), "{when}");
                assert_eq!(facet(&body, "codeAgence"), brute_force(&documents, |d| contract(d) && not_preselected(d), "codeAgence"), "{when}");
            }
        };
        check(documents.clone(), "loaded").await;

        let ingest = app.key(Scope::Ingest).await;
        for document in documents.iter().step_by(7) {
            let id = document["id"].as_str().unwrap();
            assert_eq!(app.put_status(&ingest, id, "suspendue").await.status(), 200);
        }
        documents = documents.into_iter().enumerate().filter(|(i, _)| i % 7 != 0).map(|(_, d)| d).collect();
        app.wait_for_index().await;
        check(documents.clone(), "suspended").await;

        // A CDD becomes the newest CDI; a CDI is preselected from now on.
        let changed = [("T00001", "typeContrat", json!("CDI")), ("T00003", "avecPreselection", json!(true))];
        for (id, field, value) in changed {
            let document = documents.iter_mut().find(|d| d["id"] == id).unwrap();
            document[field] = value;
            document["dateCreation"] = json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
            assert!(app.put_offer(&ingest, document).await.status().is_success());
        }
        app.wait_for_index().await;
        check(documents, "changed").await;
    }

    async fn offers_of_the_same_date_are_paged_by_id_across_segments(app) {
        let ingest = app.key(Scope::Ingest).await;
        let mut expected = Vec::new();
        // Short ids, and long ones sharing their first eight bytes (the
        // index orders by those first): the second page begins among them.
        let id = |i: usize| if i < 12 { format!("SD-LONG-{i:05}") } else { format!("SD{i:05}") };
        // Written one batch at a time, each made searchable before the
        // next: the index holds them in several segments.
        for batch in [[7, 2, 9, 13], [4, 11, 0, 14], [5, 10, 1, 15], [8, 3, 6, 12]] {
            for i in batch {
                let mut document = offer(&id(i));
                document["dateCreation"] = json!("2026-11-02T08:00:00Z");
                assert!(app.put_offer(&ingest, &document).await.status().is_success());
                expected.push(id(i));
            }
            app.wait_for_index().await;
        }
        expected.sort();
        let key = app.key(Scope::Search).await;
        for sort in ["0", "1"] {
            assert_eq!(all_ids(&app, &key, &format!("sort={sort}")).await, expected, "sort {sort}");
        }
    }

    async fn every_filter_keeps_exactly_the_matching_offers(app) {
        let documents = corpus(48);
        let key = load(&app, &documents).await;
        let experience = |d: &Value| d["experienceLibelle"].as_str().unwrap().to_owned();
        let checks: Vec<(&str, Keep)> = vec![
            ("typeContrat=CDD,MIS", Box::new(|d| d["typeContrat"] != "CDI")),
            ("natureContrat=E2", Box::new(|d| d["natureContrat"] == "Contrat apprentissage")),
            ("codeROME=D1106", Box::new(|d| d["romeCode"] == "D1106")),
            ("secteurActivite=43", Box::new(|d| d["secteurActivite"] == "43")),
            ("experience=1", Box::new(move |d| ["Débutant accepté", "6 Mois"].contains(&experience(d).as_str()))),
            ("experience=3", Box::new(|d| d["experienceLibelle"] == "Expérience exigée de 5 An(s)")),
            ("qualification=9", Box::new(|d| d["qualificationCode"] == "9")),
            ("qualification=0", Box::new(|d| d["qualificationCode"] != "9")),
            ("tempsPlein=false", Box::new(|d| d["dureeTravailLibelleConverti"] == "Temps partiel")),
            ("accesTravailleurHandicape=true", Box::new(|d| d["accessibleTH"] == true)),
            ("codeAgence=13181,84526", Box::new(|d| d["codeAgence"] == "13181" || d["codeAgence"] == "84526")),
            ("avecPreselection=true", Box::new(|d| d["avecPreselection"] == true)),
            ("contratAide=false", Box::new(|d| d["contratAide"] == false)),
            ("iae=true", Box::new(|d| d["iae"] == true)),
            ("publiee=false", Box::new(|d| d["publiee"] == false)),
            ("departement=13&typeContrat=CDI", Box::new(|d| d["lieuTravail"]["commune"] != "84089" && d["typeContrat"] == "CDI")),
        ];
        for (query, keep) in checks {
            let expected: BTreeSet<String> = documents.iter().filter(|d| keep(d)).map(|d| d["id"].as_str().unwrap().to_owned()).collect();
            assert!(!expected.is_empty(), "{query} selects nothing: a useless check");
            let found: BTreeSet<String> = all_ids(&app, &key, query).await.into_iter().collect();
            assert_eq!(found, expected, "{query}");
        }
    }

    async fn every_invalid_parameter_gets_a_precise_400(app) {
        let key = load(&app, &corpus(3)).await;
        for (query, param) in [
            ("distance=abc&commune=13001", "distance"),
            ("distance=10", "distance"),
            ("commune=99999", "commune"),
            ("motsCles=a", "motsCles"),
            ("motsCles=un,deux,trois,quatre,cinq,six,sept,huit", "motsCles"),
            ("motsCles=%22chef%20de%20cuisine", "motsCles"),
            // Nothing left to look for: every offer would match.
            ("motsCles=le", "motsCles"),
            ("motsCles=C%2B%2B", "motsCles"),
            ("motsCles=%22de%20la%22", "motsCles"),
            ("typeContrat=XYZ", "typeContrat"),
            ("experience=5", "experience"),
            ("qualification=3", "qualification"),
            ("publieeDepuis=2", "publieeDepuis"),
            ("minCreationDate=2026-01-01T00:00:00Z", "maxCreationDate"),
            ("minCreationDate=hier&maxCreationDate=2026-01-01T00:00:00Z", "minCreationDate"),
            ("sort=2", "sort"),
            ("sort=9", "sort"),
            ("range=10-5", "range"),
            ("range=0-150", "range"),
            ("range=3001-3010", "range"),
            ("range=+0-+9", "range"),
            ("range=0-%209", "range"),
            ("distance=+10&commune=13001", "distance"),
            ("codeAgence=12345", "codeAgence"),
            ("avecPreselection=oui", "avecPreselection"),
            ("departement=1,2,3,4,5,6", "departement"),
            ("couleur=bleu", "couleur"),
            ("sort=1&sort=0", "sort"),
        ] {
            let response = app.search(&key, query).await;
            assert_eq!(response.status(), 400, "{query}");
            let body: Value = response.json().await.unwrap();
            let message = body["message"].as_str().unwrap();
            assert!(message.contains(&format!("« {param} »")), "{query}: {message}");
        }
        // A value of a referential: the API says where it lists them.
        let body: Value = app.search(&key, "typeContrat=XYZ").await.json().await.unwrap();
        assert_eq!(
            body["message"],
            "Valeur du paramètre « typeContrat » incorrecte : « XYZ » inconnu. Voir /api/v1/referentiel/typesContrats."
        );
        let body: Value = app.search(&key, "departement=20").await.json().await.unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("(ex. 13, 2A, 974)") && message.ends_with("Voir /api/v1/referentiel/departements."), "{message}");
        // « été » sent in Latin-1: not read as something else.
        let response = app.search(&key, "motsCles=%E9t%E9").await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("UTF-8"), "{body}");
    }

    async fn date_filters_keep_the_right_offers(app) {
        let documents = corpus(30);
        let key = load(&app, &documents).await;
        // Offer i was created i × 7 hours ago: the last 3 days hold i ≤ 10.
        assert_eq!(all_ids(&app, &key, "publieeDepuis=3").await.len(), 11);
        let from = (chrono::Utc::now() - chrono::Duration::hours(7 * 20 + 1)).format("%Y-%m-%dT%H:%M:%SZ");
        let to = (chrono::Utc::now() - chrono::Duration::hours(7 * 10 - 1)).format("%Y-%m-%dT%H:%M:%SZ");
        assert_eq!(all_ids(&app, &key, &format!("minCreationDate={from}&maxCreationDate={to}")).await.len(), 11);
    }

    async fn a_changed_offer_replaces_its_indexed_version_however_old_its_row(app) {
        // The indexer replaces an offer's indexed version only if the offer
        // existed at the last change it applied (its row's `first_sequence`).
        let documents = corpus(12);
        let key = load(&app, &documents).await;
        let ingest = app.key(Scope::Ingest).await;
        // Offers stored before the column have 0 there.
        app.database
            .run(|conn| {
                use diesel::prelude::*;
                use relais::db::schema::offers;
                diesel::update(offers::table)
                    .set(offers::first_sequence.eq(0))
                    .execute(conn)
                    .map_err(relais::db::DbError::from)
            })
            .await
            .unwrap();
        let mut renamed = documents[3].clone();
        renamed["intitule"] = json!("Funambule");
        assert_eq!(app.put_offer(&ingest, &renamed).await.status(), 200);
        app.wait_for_index().await;
        assert_eq!(all_ids(&app, &key, "motsCles=funambule").await, ["T00003"]);
        assert_eq!(all_ids(&app, &key, "").await.len(), 12, "T00003 once");

        // A new offer, then its change, each applied in a pass of its own.
        let mut fresh = offer("FRESH01");
        fresh["intitule"] = json!("Jongleur");
        assert_eq!(app.put_offer(&ingest, &fresh).await.status(), 201);
        app.wait_for_index().await;
        fresh["intitule"] = json!("Acrobate");
        assert_eq!(app.put_offer(&ingest, &fresh).await.status(), 200);
        app.wait_for_index().await;
        assert!(all_ids(&app, &key, "motsCles=jongleur").await.is_empty());
        assert_eq!(all_ids(&app, &key, "motsCles=acrobate").await, ["FRESH01"]);
        assert_eq!(all_ids(&app, &key, "").await.len(), 13, "FRESH01 once");
    }
}

#[tokio::test]
async fn restart_index_deletion_and_damage_give_the_same_results() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let key = load(&app, &corpus(30)).await;
    let queries = [
        "motsCles=vendeur",
        "typeContrat=CDD&sort=1",
        "commune=13001&distance=15&sort=2",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(all_ids(&app, &key, q).await);
    }
    let (settings, dir, _) = app.stop().await;

    // Files of a segment the index does not hold, as a merge cut short
    // leaves them; and a file that is not tantivy's.
    let stray = settings
        .index
        .path
        .join("0123456789abcdef0123456789abcdef.store");
    let foreign = settings.index.path.join("LISEZ-MOI.txt");
    // Left while the index may hold writes the disk has not confirmed
    // (search::directory): a process or a machine that stopped leaves it.
    let unsynced = settings.index.path.join(".relais-unsynced");
    let mut kept_segment_files = BTreeSet::new();
    for case in [
        "restart",
        "stray segment files",
        "index deleted",
        "index damaged",
        "file list damaged",
        "stopped without syncing",
        "stopped without syncing, a file damaged",
        "index of an earlier version",
    ] {
        assert!(!unsynced.exists(), "a clean stop syncs the index ({case})");
        match case {
            "stray segment files" => {
                std::fs::write(&stray, b"merge interrompue").unwrap();
                std::fs::write(&foreign, b"notes").unwrap();
            }
            "index deleted" => std::fs::remove_dir_all(&settings.index.path).unwrap(),
            "index damaged" => {
                std::fs::write(settings.index.path.join("meta.json"), "{ abîmé").unwrap()
            }
            // tantivy's list of its files, written without waiting for the
            // disk (search::directory): a power cut may leave it so.
            "file list damaged" => {
                std::fs::write(settings.index.path.join(".managed.json"), "[ abîmé").unwrap()
            }
            "stopped without syncing" => {
                std::fs::write(&unsynced, b"").unwrap();
                kept_segment_files = segment_files(&settings.index.path);
            }
            // What a power cut may leave of a file the disk had not
            // confirmed; it is caught before any search reads it.
            "stopped without syncing, a file damaged" => {
                std::fs::write(&unsynced, b"").unwrap();
                let store = settings.index.path.join(
                    kept_segment_files
                        .iter()
                        .find(|f| f.ends_with(".offers"))
                        .unwrap(),
                );
                let mut bytes = std::fs::read(&store).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0xff;
                std::fs::write(&store, bytes).unwrap();
            }
            // Written before a change of the index's format (as before the
            // offers had a store of their own, version 13).
            "index of an earlier version" => {
                let meta_file = settings.index.path.join("meta.json");
                let mut meta: Value =
                    serde_json::from_slice(&std::fs::read(&meta_file).unwrap()).unwrap();
                let mut payload: Value =
                    serde_json::from_str(meta["payload"].as_str().unwrap()).unwrap();
                payload["schema_version"] = json!(SCHEMA_VERSION - 1);
                meta["payload"] = json!(payload.to_string());
                std::fs::write(&meta_file, meta.to_string()).unwrap();
                kept_segment_files = segment_files(&settings.index.path);
            }
            _ => {}
        }
        let restarted = helpers::restart(settings.clone()).await;
        for (q, expected) in queries.iter().zip(&before) {
            assert_eq!(
                &all_ids(&restarted, &key, q).await,
                expected,
                "{q} ({case})"
            );
        }
        if case == "stray segment files" {
            assert!(!stray.exists(), "a stray segment file is removed on start");
            assert!(foreign.exists(), "other files are left alone");
        }
        let now = segment_files(&settings.index.path);
        match case {
            "stopped without syncing" => {
                assert_eq!(now, kept_segment_files, "whole files: the index is kept")
            }
            "stopped without syncing, a file damaged" | "index of an earlier version" => assert!(
                now.is_disjoint(&kept_segment_files),
                "the index is rebuilt ({case})"
            ),
            _ => {}
        }
        restarted.stop().await;
    }
    drop(dir);
}

/// The database replaced by an empty one (a reset, or the wrong file): the
/// index, ahead of it, is emptied at start rather than kept until the next
/// write.
#[tokio::test]
async fn an_index_ahead_of_an_empty_database_is_emptied_at_start() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    load(&app, &corpus(30)).await;
    let (settings, dir, _) = app.stop().await;
    let database = std::path::PathBuf::from(&settings.database.url);
    for file in ["", "-wal", "-shm"] {
        let path = format!("{}{file}", database.display());
        if std::path::Path::new(&path).exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
    let app = helpers::restart(settings).await;
    assert_eq!(app.search.searcher().num_docs(), 0);
    app.stop().await;
    drop(dir);
}

/// The names of the index's segment files (32 hexadecimal digits, then an
/// extension).
fn segment_files(index: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(index)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| relais::search::index::segment_of(name).is_some())
        .collect()
}

/// An acknowledged write wakes the indexer: with the feed polled once an
/// hour, the change still reaches searches, through the real API. (How fast
/// is measured by `relais bench`, in its freshness section.)
#[tokio::test]
async fn an_acknowledged_write_wakes_the_indexer() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.index.poll_interval_ms = std::num::NonZeroU32::new(3_600_000).unwrap();
    })
    .await
    .unwrap();
    let key = load(&app, &corpus(20)).await;
    let ingest = app.key(Scope::Ingest).await;
    let applied = || async {
        // Only a missed wake leaves the change waiting for the hourly poll.
        tokio::time::timeout(Duration::from_secs(60), app.wait_for_index())
            .await
            .expect("the write did not wake the indexer");
    };
    let mut fresh = offer("FRESH01");
    fresh["intitule"] = json!("Funambule");
    assert_eq!(app.put_offer(&ingest, &fresh).await.status(), 201);
    applied().await;
    assert_eq!(all_ids(&app, &key, "motsCles=funambule").await, ["FRESH01"]);
    let suspended = app.put_status(&ingest, "FRESH01", "suspendue").await;
    assert_eq!(suspended.status(), 200);
    applied().await;
    assert!(all_ids(&app, &key, "motsCles=funambule").await.is_empty());
}

/// The benchmark's engine alone (`query::engine_alone`: the ranking by
/// tantivy's own collectors) finds the matches relais's own pass finds,
/// and answers nothing but keywords ranked by relevance.
#[tokio::test]
async fn the_engine_alone_finds_what_relais_finds() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let mut offers = corpus(40);
    // Changed: the index holds its first version, deleted.
    let mut changed = offers[0].clone();
    changed["description"] = json!("Vous accueillez la clientèle du magasin.");
    offers.push(changed);
    load(&app, &offers).await;
    let agencies = AGENCIES.iter().map(|code| code.to_string()).collect();
    let context = Context {
        agencies: &agencies,
        now: chrono::Utc::now().timestamp(),
        indexed: &|_, _| false,
    };
    let request = |params: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        SearchRequest::parse(&pairs, &context).unwrap()
    };
    for (params, total) in [
        (vec![("motsCles", "vendeur")], 20),
        (vec![("motsCles", "boulangerie,vendeuse")], 20),
        (vec![("motsCles", "\"vendeuse en boulangerie\"")], 20),
        (vec![("motsCles", "électricien"), ("range", "5-9")], 20),
        (vec![("motsCles", "vendeur,vendeur")], 20),
        (vec![("motsCles", "vendeur"), ("range", "100-119")], 20),
        (vec![("motsCles", "électricien,vendeur")], 0),
    ] {
        let request = request(&params);
        let ours = query::search(&app.search, &request).unwrap();
        let alone = query::engine_alone(&app.search, &request)
            .unwrap()
            .expect("keywords ranked by relevance alone");
        assert_eq!((alone.total, ours.total), (total, total), "{params:?}");
        let ids = |results: &SearchResults| -> BTreeSet<String> {
            results
                .offers
                .iter()
                .map(|offer| offer.id.clone())
                .collect()
        };
        // The page holds as many; ties in score may pick others.
        assert_eq!(alone.offers.len(), ours.offers.len(), "{params:?}");
        if total <= 20 && request.start == 0 {
            assert_eq!(ids(&alone), ids(&ours), "{params:?}");
        }
    }
    for params in [
        vec![("motsCles", "vendeur"), ("typeContrat", "CDI")],
        vec![("motsCles", "vendeur"), ("sort", "1")],
        vec![("typeContrat", "CDI")],
    ] {
        let alone = query::engine_alone(&app.search, &request(&params)).unwrap();
        assert!(alone.is_none(), "{params:?}");
    }
}
