//! Service announcements: published by the platform admin, shown on every
//! page (the login page too) while in force, withdrawn at once; a wrong
//! form is explained and publishes nothing. On both databases.

use chrono::{Duration, NaiveDateTime};
use relais::audit::{self, Filter};
use relais::clock::INPUT_FORMAT;
use relais::clock::in_paris as paris;
use reqwest::{Client, StatusCode};

use crate::admin::admin;
use crate::helpers::TestApp;
use crate::on_each_backend;
use crate::referrals::{desk, page};

const PATH: &str = "/admin/annonces";

/// An instant as the form's `datetime-local` field sends it: Paris time.
fn input(at: NaiveDateTime) -> String {
    paris(at).format(INPUT_FORMAT).to_string()
}

async fn announce(
    app: &TestApp,
    admin: &Client,
    message: &str,
    maintenance: bool,
    (start, end): (&str, &str),
) -> (StatusCode, String) {
    let csrf = app.csrf(admin, PATH).await;
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("message", message),
        ("debut", start),
        ("fin", end),
    ];
    if maintenance {
        form.push(("maintenance", "oui"));
    }
    let response = app.post_form(admin, PATH, &form).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location.unwrap_or(response.text().await.unwrap()))
}

fn published(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    let mut conn = app.database.connection().unwrap();
    relais::db::schema::announcements::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

on_each_backend! {
    async fn an_announced_maintenance_shows_on_every_page_until_it_is_over(app) {
        let admin = admin(&app).await;
        let desk = desk(&app, "PLIE Aix", true).await;
        let anonymous = app.browser();
        let now = app.clock_now();
        let (start, end) = (now + Duration::days(2), now + Duration::days(2) + Duration::hours(2));
        let maintenance = "Mise à jour des référentiels.";
        let window = (input(start), input(end));
        let (status, location) = announce(&app, &admin, maintenance, true, (&window.0, &window.1)).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/annonces?avis=publiee"));
        let information = "Nouvelle adresse de l'agence de Pertuis.";
        let shown = (input(now + Duration::days(1)), input(now + Duration::days(5)));
        let (status, _) = announce(&app, &admin, information, false, (&shown.0, &shown.1)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        // Announced at once, everywhere; the information waits for its day.
        let pages = [(&anonymous, "/connexion"), (&desk.coach, "/offres"), (&desk.rgc, "/structure/comptes"), (&admin, "/")];
        let hour = paris(start).format("%H:%M").to_string();
        for (client, path) in pages {
            let (status, html) = page(&app, client, path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(html.contains("Maintenance prévue") && html.contains(&hour) && html.contains(maintenance), "{path}");
            assert!(!html.contains("agence de Pertuis"), "{path}: not yet");
        }
        let (_, listed) = page(&app, &admin, &location).await;
        assert!(listed.contains("L'annonce est publiée.") && listed.contains("à venir") && listed.contains("affichée"));

        app.clock.advance(Duration::days(1) + Duration::hours(1));
        let (_, html) = page(&app, &anonymous, "/connexion").await;
        assert!(html.contains(maintenance) && html.contains("agence de Pertuis"));
        app.clock.advance(Duration::days(1) + Duration::hours(2));
        let (status, html) = page(&app, &anonymous, "/connexion").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains(maintenance), "the maintenance is over");
        assert!(html.contains("agence de Pertuis"));

        // Withdrawn: gone at once, and only once (by an admin signed in
        // again: days went by).
        let admin = crate::admin::admin(&app).await;
        let (_, listed) = page(&app, &admin, PATH).await;
        assert!(listed.contains("terminée"));
        let action = listed.split(r#"action="/admin/annonces/"#).nth(1).expect("one to withdraw");
        let withdraw = format!("{PATH}/{}", &action[..action.find('"').unwrap()]);
        let csrf = app.csrf(&admin, PATH).await;
        let response = app.post_form(&admin, &withdraw, &[("csrf", &csrf)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (status, html) = page(&app, &anonymous, "/connexion").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("agence de Pertuis"));
        let again = app.post_form(&admin, &withdraw, &[("csrf", &csrf)]).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert!(again.text().await.unwrap().contains("déjà retirée ou terminée"));
        let unknown = app.post_form(&admin, &format!("{PATH}/inconnue/retrait"), &[("csrf", &csrf)]).await;
        assert_eq!(unknown.status(), 404);

        let mut conn = app.database.connection().unwrap();
        let trail: Vec<String> = audit::search(&mut conn, &Filter::default(), 100).unwrap().into_iter().map(|r| r.action).collect();
        assert_eq!(trail.iter().filter(|a| *a == "announcement_published").count(), 2);
        assert_eq!(trail.iter().filter(|a| *a == "announcement_withdrawn").count(), 1);
    }

    async fn a_wrong_announcement_is_explained_and_publishes_nothing(app) {
        let admin = admin(&app).await;
        let now = app.clock_now();
        let (past, soon, later) = (input(now - Duration::hours(1)), input(now + Duration::hours(1)), input(now + Duration::hours(3)));
        let refused = [
            ("  ", false, (soon.as_str(), later.as_str()), "Écrivez le message"),
            ("Travaux", false, (later.as_str(), soon.as_str()), "La fin doit venir après le début."),
            ("Travaux", true, (past.as_str(), later.as_str()), "son début doit être à venir"),
            ("Travaux", false, ("demain", later.as_str()), "« Début » est attendu"),
        ];
        for (message, maintenance, window, expected) in refused {
            let (status, html) = announce(&app, &admin, message, maintenance, window).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}");
            assert!(html.contains(expected), "{expected}");
        }
        // What was typed is shown again, to correct.
        let (_, html) = announce(&app, &admin, "Travaux", false, ("demain", later.as_str())).await;
        assert!(html.contains(r#"value="demain""#) && html.contains(">Travaux</textarea>"));
        assert_eq!(published(&app), 0);

        let desk = desk(&app, "PLIE Aix", true).await;
        assert_eq!(page(&app, &desk.rgc, PATH).await.0, StatusCode::FORBIDDEN);
        let csrf = app.csrf(&desk.rgc, "/structure/comptes").await;
        let form = [("csrf", csrf.as_str()), ("message", "Travaux"), ("debut", soon.as_str()), ("fin", later.as_str())];
        assert_eq!(app.post_form(&desk.rgc, PATH, &form).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(published(&app), 0);
    }
}
