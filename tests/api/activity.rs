//! Activity follow-up: the RGC's and the admin's monthly counts, their CSV
//! export and chart, on both databases.

use chrono::Duration;
use relais::activity::Month;
use relais::mail::outbox;
use reqwest::{Client, StatusCode};

use crate::admin::admin;
use crate::helpers::{TestApp, log_in_at};
use crate::on_each_backend;
use crate::referrals::{CANDIDATE, agency_link, desk, hidden, page, propose, publish};

/// The rows of an export: header first, then one row per month, partner,
/// account and agency.
async fn export(app: &TestApp, client: &Client, path: &str) -> Vec<Vec<String>> {
    let response = client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"activite-"),
        "{disposition}"
    );
    let body = response.text().await.unwrap();
    let body = body
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for spreadsheets");
    body.lines()
        .map(|line| line.split(';').map(str::to_owned).collect())
        .collect()
}

/// The counts of one row of an export (after its six label columns), found
/// by month, login and agency code.
fn counts(rows: &[Vec<String>], month: Month, login: &str, agency: &str) -> Option<Vec<u64>> {
    rows.iter()
        .find(|row| row[0] == month.to_string() && row[2] == login && row[4] == agency)
        .map(|row| row[6..].iter().map(|n| n.parse().unwrap()).collect())
}

/// The RGC's login and the coach's, of a partner with one of each.
fn rgc_and_coach(app: &TestApp, partner: &str) -> (String, String) {
    use diesel::prelude::*;
    use relais::db::schema::users;
    let mut conn = app.database.connection().unwrap();
    let mut role_of = |role: &str| -> String {
        users::table
            .filter(users::partner_id.eq(partner).and(users::role.eq(role)))
            .select(users::login)
            .first(&mut conn)
            .unwrap()
    };
    (role_of("rgc"), role_of("coach"))
}

on_each_backend! {
    async fn the_rgc_and_the_admin_follow_a_partner_month_by_month(app) {
        let other = desk(&app, "Mission locale", true).await;
        let desk = desk(&app, "PLIE Aix", true).await;
        let (rgc, coach) = rgc_and_coach(&app, &desk.partner);
        publish(&app, "500AAAA", false).await;
        publish(&app, "501AAAA", true).await;
        let first = Month::of(app.clock_now());

        // Searches asked for count; the other pages (back to the first),
        // the empty form (which sends the order) and a refused search do not.
        for (path, status) in [
            ("/offres?motsCles=electricien", StatusCode::OK),
            ("/offres?motsCles=electricien&page=2", StatusCode::OK),
            ("/offres?motsCles=electricien&page=1", StatusCode::OK),
            ("/offres", StatusCode::OK),
            ("/offres?motsCles=&commune=&distance=&sort=0", StatusCode::OK),
            ("/offres?page=0", StatusCode::BAD_REQUEST),
            ("/offres?typeContrat=CDI", StatusCode::OK),
        ] {
            assert_eq!(page(&app, &desk.coach, path).await.0, status, "{path}");
        }
        page(&app, &desk.rgc, "/offres?motsCles=plombier").await;
        page(&app, &other.coach, "/offres?motsCles=plombier").await;

        let recorded = propose(&app, &desk.coach, "500AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(recorded.status(), StatusCode::SEE_OTHER);
        let mut fields = CANDIDATE.to_vec();
        fields.push(("consentement", "non"));
        let requested = propose(&app, &desk.coach, "501AAAA", "demande-de-contact", &fields).await;
        assert_eq!(requested.status(), StatusCode::SEE_OTHER);
        let messages = app.database.run(outbox::list).await.unwrap();
        let link = agency_link(&messages.iter().find(|m| m.body.contains("501AAAA")).unwrap().body);
        let agency = app.browser();
        let csrf = hidden(&page(&app, &agency, &link).await.1, "csrf");
        let answered = app.post_form(&agency, &link, &[("csrf", &csrf), ("reponse", "candidat_convoque")]).await;
        assert_eq!(answered.status(), StatusCode::SEE_OTHER);

        // The RGC: its own partner, per account and per agency.
        let rows = export(&app, &desk.rgc, "/structure/activite.csv").await;
        assert_eq!(rows[0][..7], ["Mois", "Structure", "Identifiant", "Nom", "Code agence", "Agence", "Connexions"]);
        assert_eq!(counts(&rows, first, &coach, ""), Some(vec![1, 2, 0, 0, 0, 0]), "{rows:?}");
        assert_eq!(counts(&rows, first, &coach, "13013"), Some(vec![0, 0, 1, 1, 1, 1]), "{rows:?}");
        assert_eq!(counts(&rows, first, &rgc, ""), Some(vec![1, 1, 0, 0, 0, 0]), "{rows:?}");
        assert_eq!(rows.len(), 4, "no other partner's activity: {rows:?}");
        assert!(rows[1..].iter().all(|row| row[1] == "PLIE Aix"));

        let (status, html) = page(&app, &desk.rgc, "/structure/activite").await;
        assert_eq!(status, StatusCode::OK);
        for expected in ["Activité de la structure", "PLIE Aix", "Par compte", "Par agence", "Aix Galice (13013)", coach.as_str()] {
            assert!(html.contains(expected), "{expected}");
        }
        let chart = html.split(r#"aria-label="Recherches par mois : "#).nth(1).expect("a chart of searches");
        let chart = &chart[..chart.find('"').unwrap()];
        assert!(chart.ends_with(&format!("{} : 3", first.label())), "the chart tells the month's searches: {chart}");
        assert!(!html.contains("Mission locale"));
        assert_eq!(page(&app, &desk.coach, "/structure/activite").await.0, StatusCode::FORBIDDEN);
        assert_eq!(page(&app, &desk.rgc, "/admin/activite").await.0, StatusCode::FORBIDDEN);

        // Seven months on: the coach comes back once; the candidate is
        // anonymised, the counts stay.
        app.clock.advance(Duration::days(214));
        let later = Month::of(app.clock_now());
        let coach_again = app.browser();
        log_in_at(&coach_again, &app.address, &desk.coach_login.0, &desk.coach_login.1).await;
        page(&app, &coach_again, "/offres?motsCles=electricien").await;
        let anonymised = app.run_job("anonymise-candidates").await;
        assert!(anonymised.starts_with("1 personne(s)"), "{anonymised}");

        // The admin: every partner, then one.
        let admin = admin(&app).await;
        let period = format!("du={first}&au={later}");
        let rows = export(&app, &admin, &format!("/admin/activite.csv?{period}")).await;
        assert_eq!(counts(&rows, first, &coach, "13013"), Some(vec![0, 0, 1, 1, 1, 1]), "{rows:?}");
        assert_eq!(counts(&rows, later, &coach, ""), Some(vec![1, 1, 0, 0, 0, 0]), "{rows:?}");
        assert!(rows.iter().any(|row| row[1] == "Mission locale"), "{rows:?}");
        assert!(!rows.iter().any(|row| row[2].is_empty()), "admins' own logins are no partner's activity");
        let (status, html) = page(&app, &admin, &format!("/admin/activite?{period}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Activité des structures partenaires") && html.contains("Par structure"));
        assert!(html.contains("PLIE Aix") && html.contains("Mission locale"));
        let (_, terms) = page(&app, &admin, &format!("/admin/structures/{}", desk.partner)).await;
        assert!(terms.contains(&format!(r#"href="/admin/activite?structure={}""#, desk.partner)), "the partner's page leads to its activity");
        let one = format!("/admin/activite?{period}&structure={}", desk.partner);
        let (status, html) = page(&app, &admin, &one).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Par compte") && html.contains(coach.as_str()));
        let rows = export(&app, &admin, &format!("/admin/activite.csv?{period}&structure={}", other.partner)).await;
        assert!(rows[1..].iter().all(|row| row[1] == "Mission locale"), "{rows:?}");
    }

    async fn a_wrong_period_or_partner_is_explained(app) {
        let admin = admin(&app).await;
        for (query, expected) in [
            ("du=2026-13", "Le mois « du » est attendu au format aaaa-mm"),
            ("au=decembre", "Le mois « au » est attendu au format aaaa-mm"),
            ("du=2026-05&au=2026-04", "doit précéder"),
            ("du=2020-01&au=2026-12", "36 mois au plus"),
            ("structure=inconnue", "Cette structure est inconnue"),
            ("du=2026-01&du=2026-02", "paramètre incorrect ou répété"),
        ] {
            let (status, html) = page(&app, &admin, &format!("/admin/activite?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert!(html.contains(expected), "{query}: {expected}");
            let (status, html) = page(&app, &admin, &format!("/admin/activite.csv?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert!(html.contains(expected), "{query}: {expected}");
        }
    }
}
