//! Local login, first-login password change, sessions, throttling, CSRF.

use chrono::{Duration, NaiveDate, Utc};
use relais::accounts::{self, Credentials, PartnerTerms, Person, Role};
use reqwest::{Client, Response};

use crate::helpers::{Backend, TestApp, log_in_at, spawn_app, spawn_app_with};
use crate::on_each_backend;

/// A partner with one coach; the coach's first credentials.
fn coach(app: &TestApp, agreement_end: NaiveDate) -> (String, Credentials) {
    let mut conn = app.database.connection().unwrap();
    let now = Utc::now().naive_utc();
    let terms = PartnerTerms {
        name: "PLIE du Pays d'Aix".to_owned(),
        agency_code: "13013".to_owned(),
        agreement_start: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
        agreement_end,
        seats: 6,
        offers_service: true,
        referrals_service: true,
    };
    // Registered when its agreement began: one already over is refused now.
    let registered = terms.agreement_start.and_hms_opt(12, 0, 0).unwrap();
    let partner = accounts::create_partner(&mut conn, registered, None, &terms).unwrap();
    let person = Person::parse(
        "Awa Diallo",
        "Accompagnatrice emploi",
        "awa.diallo@plie.example",
    )
    .unwrap();
    let (account, credentials) = accounts::create_account(
        &mut conn,
        now,
        None,
        Some(&partner.id),
        Role::Coach,
        &person,
    )
    .unwrap();
    (account.id, credentials)
}

fn far_future() -> NaiveDate {
    NaiveDate::from_ymd_opt(2099, 12, 31).unwrap()
}

async fn log_in(app: &TestApp, client: &Client, login: &str, password: &str) -> Response {
    log_in_at(client, &app.address, login, password).await
}

fn location(response: &Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

on_each_backend! {
    async fn a_new_coach_changes_the_first_password_then_lands_home(app) {
        let (_, credentials) = coach(&app, far_future());
        let client = app.browser();

        let wrong = log_in(&app, &client, &credentials.login, "pas le bon mot de passe").await;
        assert_eq!(wrong.status(), 401);
        let unknown = log_in(&app, &client, "personne", "pas le bon mot de passe").await;
        assert_eq!(unknown.status(), 401);
        let (wrong, unknown) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
        assert!(wrong.contains("Identifiant ou mot de passe incorrect."));
        assert!(unknown.contains("Identifiant ou mot de passe incorrect."), "the same answer for both");

        let signed_in = log_in(&app, &client, &credentials.login, &credentials.password).await;
        assert_eq!(signed_in.status(), 303);
        assert_eq!(location(&signed_in), "/mot-de-passe");
        let home = client.get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(location(&home), "/mot-de-passe", "the first password must be replaced first");

        let token = app.csrf(&client, "/mot-de-passe").await;
        let short = app.post_form(&client, "/mot-de-passe", &[("csrf", &token), ("actuel", &credentials.password), ("nouveau", "court"), ("confirmation", "court")]).await;
        assert_eq!(short.status(), 400);
        assert!(short.text().await.unwrap().contains("au moins 12 caractères"));
        let new_password = "une phrase assez longue pour relais";
        let changed = app.post_form(&client, "/mot-de-passe", &[("csrf", &token), ("actuel", &credentials.password), ("nouveau", new_password), ("confirmation", new_password)]).await;
        assert_eq!(changed.status(), 303);

        let home = client.get(format!("{}{}", app.address, location(&changed))).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert!(html.contains("Awa Diallo") && html.contains("Se déconnecter"), "{html}");
        assert!(html.contains("Votre mot de passe est enregistré."));

        let token = app.csrf(&client, "/").await;
        let out = app.post_form(&client, "/deconnexion", &[("csrf", &token)]).await;
        assert_eq!(location(&out), "/connexion?motif=deconnexion");
        let said = app.get(location(&out)).await.text().await.unwrap();
        assert!(said.contains("Votre session est fermée."), "{said}");
        let home = client.get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(location(&home), "/connexion", "signed out");

        let again = log_in(&app, &client, &credentials.login, new_password).await;
        assert_eq!(location(&again), "/", "the new password works, no change asked");
    }

    async fn sessions_end_when_idle_or_when_the_account_is_deactivated(app) {
        let (account_id, credentials) = coach(&app, far_future());
        let client = app.browser();
        log_in(&app, &client, &credentials.login, &credentials.password).await;
        let page = client.get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(location(&page), "/mot-de-passe", "signed in, sent to change the password");

        app.clock.advance(Duration::minutes(31));
        let page = client.get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(location(&page), "/connexion?motif=session-terminee", "idle for 31 minutes: signed out");
        let said = app.get(location(&page)).await.text().await.unwrap();
        assert!(said.contains("Votre session a pris fin : reconnectez-vous"), "{said}");

        log_in(&app, &client, &credentials.login, &credentials.password).await;
        let mut conn = app.database.connection().unwrap();
        accounts::deactivate(&mut conn, app.clock_now(), None, &account_id).unwrap();
        let page = client.get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(location(&page), "/connexion?motif=session-terminee", "deactivated: signed out at once");
        let refused = log_in(&app, &client, &credentials.login, &credentials.password).await;
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.unwrap().contains("n'est pas actif"));
    }

    async fn nobody_logs_in_outside_the_agreement(app) {
        let yesterday = Utc::now().date_naive() - Duration::days(1);
        let (_, credentials) = coach(&app, yesterday);
        let refused = log_in(&app, &app.browser(), &credentials.login, &credentials.password).await;
        assert_eq!(refused.status(), 403);
        let html = refused.text().await.unwrap();
        assert!(html.contains("en dehors de ces dates"), "{html}");
    }

    async fn the_agreement_ends_at_midnight_in_paris(app) {
        // Its last day is tomorrow: at 21:30 UTC it is still that day in
        // Paris, at 23:30 UTC already the next one (summer or winter).
        let last_day = app.clock_now().date() + Duration::days(1);
        let (_, credentials) = coach(&app, last_day);
        let at = |hour, minute| last_day.and_hms_opt(hour, minute, 0).unwrap();
        app.clock.advance(at(21, 30) - app.clock_now());
        let evening = log_in(&app, &app.browser(), &credentials.login, &credentials.password).await;
        assert_eq!(evening.status(), 303, "still the agreement's last day in Paris");
        app.clock.advance(Duration::hours(2));
        let night = log_in(&app, &app.browser(), &credentials.login, &credentials.password).await;
        assert_eq!(night.status(), 403, "past midnight in Paris");
    }

    async fn repeated_failures_are_throttled(app) {
        let (_, credentials) = coach(&app, far_future());
        let client = app.browser();
        for _ in 0..5 {
            assert_eq!(log_in(&app, &client, &credentials.login, "mauvais mot de passe").await.status(), 401);
        }
        let throttled = log_in(&app, &client, &credentials.login, &credentials.password).await;
        assert_eq!(throttled.status(), 429, "even the right password waits");
        let page = throttled.text().await.unwrap();
        assert!(page.contains("Réessayez dans 1 minute."), "{page}");
        app.clock.advance(Duration::minutes(2));
        assert_eq!(log_in(&app, &client, &credentials.login, &credentials.password).await.status(), 303);
    }
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (_, credentials) = coach(&app, far_future());
    let client = app.browser();
    let forged = app
        .post_form(
            &client,
            "/connexion",
            &[
                ("csrf", "x"),
                ("identifiant", &credentials.login),
                ("mot_de_passe", &credentials.password),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("Rechargez la page"));

    // A form short of its fields: a French page, not actix's English.
    let short = app
        .post_form(
            &client,
            "/connexion",
            &[("identifiant", &credentials.login)],
        )
        .await;
    assert_eq!(short.status(), 400);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("Le formulaire envoyé est incomplet")
    );
}

#[tokio::test]
async fn the_demo_people_are_created_once_and_get_fresh_passwords_at_each_start() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let first = {
        let mut conn = app.database.connection().unwrap();
        relais::demo::load_people(&mut conn).unwrap()
    };
    let second = {
        let mut conn = app.database.connection().unwrap();
        relais::demo::load_people(&mut conn).unwrap()
    };
    let logins = |people: &[relais::demo::DemoLogin]| {
        people.iter().map(|p| p.login.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        logins(&first),
        ["lgarnier", "rbenali", "adiallo", "bmartin", "cpetit"]
    );
    assert_eq!(logins(&first), logins(&second), "no second set of accounts");
    assert_ne!(first[1].password, second[1].password);

    let client = app.browser();
    assert_eq!(
        log_in(&app, &client, "rbenali", &first[1].password)
            .await
            .status(),
        401,
        "the old password is gone"
    );
    let signed_in = log_in(&app, &client, "rbenali", &second[1].password).await;
    assert_eq!(location(&signed_in), "/mot-de-passe");
}

on_each_backend! {
    async fn a_session_ends_after_its_absolute_lifetime_however_active(app) {
        let (_, credentials) = coach(&app, far_future());
        let client = app.browser();
        log_in(&app, &client, &credentials.login, &credentials.password).await;
        let token = app.csrf(&client, "/mot-de-passe").await;
        let new_password = "une phrase assez longue pour relais";
        app.post_form(&client, "/mot-de-passe", &[("csrf", &token), ("actuel", &credentials.password), ("nouveau", new_password), ("confirmation", new_password)]).await;
        // A request every 20 minutes keeps the session from idling out…
        for step in 1..=35 {
            app.clock.advance(Duration::minutes(20));
            let home = client.get(format!("{}/", app.address)).send().await.unwrap();
            assert_eq!(home.status(), 200, "still signed in after {} minutes", step * 20);
        }
        // …until more than 12 hours have passed since login (11 h 40 so far).
        app.clock.advance(Duration::minutes(21));
        let home = client.get(format!("{}/", app.address)).send().await.unwrap();
        assert_eq!(location(&home), "/connexion?motif=session-terminee");
    }

    async fn many_failures_from_one_address_are_throttled_whatever_the_login(app) {
        let (_, credentials) = coach(&app, far_future());
        let client = app.browser();
        for n in 0..20 {
            let response = log_in(&app, &client, &format!("inconnu{n}"), "mauvais mot de passe").await;
            assert_eq!(response.status(), 401);
        }
        let throttled = log_in(&app, &client, &credentials.login, &credentials.password).await;
        assert_eq!(throttled.status(), 429);
    }
}

/// Behind a reverse proxy, the client's address comes from the proxy's
/// `X-Forwarded-For`; from anyone else the header is ignored.
#[tokio::test]
async fn the_address_recorded_is_the_clients_behind_a_trusted_proxy() {
    let proxied = [("203.0.113.7", true), ("127.0.0.1", false)];
    for (expected, trusting) in proxied {
        let app = spawn_app_with(Backend::Sqlite, |settings| {
            if trusting {
                settings.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            }
        })
        .await
        .expect("SQLite needs no server");
        let (id, credentials) = coach(&app, far_future());
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(
                [(
                    "x-forwarded-for",
                    "198.51.100.1, 203.0.113.7".parse().unwrap(),
                )]
                .into_iter()
                .map(|(name, value)| (reqwest::header::HeaderName::from_static(name), value))
                .collect(),
            )
            .build()
            .unwrap();
        log_in(&app, &client, &credentials.login, &credentials.password).await;
        let mut conn = app.database.connection().unwrap();
        let filter = relais::audit::Filter {
            person: Some(id),
            action: Some("login_succeeded".into()),
            ..Default::default()
        };
        let logins = relais::audit::search(&mut conn, &filter, 10).unwrap();
        assert_eq!(logins.len(), 1);
        assert_eq!(
            logins[0].address.as_deref(),
            Some(expected),
            "trusting: {trusting}"
        );
    }
}

/// Logins are lower case; a phone capitalises the first letter.
#[tokio::test]
async fn a_login_is_the_same_whatever_its_case() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (_, credentials) = coach(&app, far_future());
    let shouted = format!(" {} ", credentials.login.to_uppercase());
    let response = log_in(&app, &app.browser(), &shouted, &credentials.password).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/mot-de-passe");
}

/// A link followed before signing in (a mail's link to a request) leads
/// there once signed in; only to a page of relais.
#[tokio::test]
async fn signing_in_returns_to_the_page_asked_for() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (_, credentials) = coach(&app, far_future());
    let password = crate::structure::sign_in_for_good(&app, &app.browser(), &credentials).await;
    let asked = app
        .browser()
        .get(format!("{}/mises-en-relation?mois=2026-12", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);
    assert_eq!(
        location(&asked),
        "/connexion?suite=%2Fmises-en-relation%3Fmois%3D2026-12"
    );
    let form = app.get(location(&asked)).await.text().await.unwrap();
    assert!(
        form.contains(r#"name="suite" value="/mises-en-relation?mois=2026-12""#),
        "{form}"
    );
    for (suite, expected) in [
        (
            "/mises-en-relation?mois=2026-12",
            "/mises-en-relation?mois=2026-12",
        ),
        ("//ailleurs.example/piege", "/"),
        ("https://ailleurs.example", "/"),
        // Browsers drop tabs and line breaks from an address: « //ailleurs ».
        ("/\t/ailleurs.example/piege", "/"),
        ("/\n/ailleurs.example/piege", "/"),
    ] {
        let client = app.browser();
        let page = format!("{}{}", app.address, location(&asked));
        let token = crate::helpers::csrf_at(&client, &page).await;
        let signed = client
            .post(format!("{}/connexion", app.address))
            .form(&[
                ("csrf", token.as_str()),
                ("identifiant", credentials.login.as_str()),
                ("mot_de_passe", password.as_str()),
                ("suite", suite),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&signed), expected, "{suite}");
    }
}

/// A form sent once the session has ended is not kept: the person is told,
/// and comes back to the form's page after signing in.
#[tokio::test]
async fn a_form_sent_after_the_session_ended_says_so_and_leads_back_to_it() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (_, credentials) = coach(&app, far_future());
    let client = app.browser();
    let password = crate::structure::sign_in_for_good(&app, &client, &credentials).await;
    let form_page = format!("{}/mot-de-passe", app.address);
    let token = crate::helpers::csrf_at(&client, &form_page).await;
    app.clock.advance(Duration::minutes(31));
    let send = |referer: String| {
        let fields = [
            ("csrf", token.clone()),
            ("actuel", password.clone()),
            ("nouveau", "une autre phrase assez longue".to_owned()),
            ("confirmation", "une autre phrase assez longue".to_owned()),
        ];
        client
            .post(&form_page)
            .header("Referer", referer)
            .form(&fields)
            .send()
    };
    let sent = send(form_page.clone()).await.unwrap();
    assert_eq!(sent.status(), 303);
    assert_eq!(
        location(&sent),
        "/connexion?suite=%2Fmot-de-passe&motif=envoi-perdu"
    );
    let said = app.get(location(&sent)).await.text().await.unwrap();
    assert!(said.contains("rien n'a été enregistré"), "{said}");
    assert!(
        said.contains(r#"name="suite" value="/mot-de-passe""#),
        "{said}"
    );
    // Another site's page is never where sign-in leads.
    let sent = send("https://ailleurs.example/mot-de-passe".to_owned())
        .await
        .unwrap();
    assert_eq!(location(&sent), "/connexion?motif=envoi-perdu");
    // Nothing was changed: the password is the same.
    let again = log_in(&app, &app.browser(), &credentials.login, &password).await;
    assert_eq!(location(&again), "/");
}
