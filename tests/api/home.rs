use crate::on_each_backend;

on_each_backend! {
    async fn pages_are_french_accessible_and_home_needs_a_session(app) {
        let anonymous = app.browser().get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(anonymous.status(), 303);
        assert_eq!(anonymous.headers()["location"], "/connexion");

        let response = app.get("/connexion").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"<html lang="fr">"#));
        assert!(html.contains("<title>Connexion — relais</title>"));
        assert!(html.contains(r##"<a class="skip-link" href="#contenu">Aller au contenu</a>"##));
        for landmark in ["<header", r#"<main id="contenu""#, "<footer"] {
            assert!(html.contains(landmark), "missing {landmark}");
        }

        let (_, client) = crate::structure::rgc(&app, "PLIE du Pays d'Aix", 6).await;
        let html = client.get(format!("{}/", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<title>Accueil — relais</title>"));
        for agency in ["Aix Galice", "Aix Vallée de l'Arc", "Gardanne", "Vitrolles", "Marignane", "Pertuis"] {
            assert!(html.contains(agency), "missing agency {agency}");
        }
    }
}

#[tokio::test]
async fn stylesheet_is_served_from_the_binary() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains(r#"<link rel="stylesheet" href="/static/relais.css">"#));
    let css = app.get("/static/relais.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains(".skip-link"));
}

#[tokio::test]
async fn unknown_pages_get_a_french_404() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let response = app.get("/nulle-part/ici").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Page introuvable</h1>"), "{html}");
    assert!(html.contains(r#"<html lang="fr">"#));
}
