//! The RGC's accounts page: creating, activating, deactivating, resetting,
//! within the seats and within the RGC's own partner only.

use chrono::{NaiveDate, Utc};
use relais::accounts::{self, Credentials, PartnerTerms, Person, Role};
use reqwest::Client;

use crate::helpers::{self, TestApp, log_in_at};
use crate::on_each_backend;

/// A partner of Aix Galice with 6 seats and a running agreement; with the
/// « délégation de la MER » or not.
pub fn terms(name: &str, delegation: bool) -> PartnerTerms {
    PartnerTerms {
        name: name.to_owned(),
        agency_code: "13013".to_owned(),
        agreement_start: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
        agreement_end: NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
        seats: 6,
        offers_service: true,
        referrals_service: delegation,
    }
}

/// A partner with `seats` and its RGC, whose password is already changed.
pub async fn rgc(app: &TestApp, name: &str, seats: i32) -> (String, Client) {
    let partner = {
        let mut conn = app.database.connection().unwrap();
        let terms = PartnerTerms {
            seats,
            ..terms(name, true)
        };
        accounts::create_partner(&mut conn, Utc::now().naive_utc(), None, &terms)
            .unwrap()
            .id
    };
    let email = format!("rgc.{}@plie.example", name.to_lowercase().replace(' ', "."));
    let person = Person::parse(&format!("Rachid {name}"), "RGC", &email).unwrap();
    let credentials = {
        let mut conn = app.database.connection().unwrap();
        accounts::create_account(
            &mut conn,
            Utc::now().naive_utc(),
            None,
            Some(&partner),
            Role::Rgc,
            &person,
        )
        .unwrap()
        .1
    };
    let client = app.browser();
    sign_in_for_good(app, &client, &credentials).await;
    (partner, client)
}

/// Logs in and replaces the first password.
pub async fn sign_in_for_good(app: &TestApp, client: &Client, credentials: &Credentials) -> String {
    log_in_at(
        client,
        &app.address,
        &credentials.login,
        &credentials.password,
    )
    .await;
    let new_password = "une phrase assez longue pour relais";
    let token = app.csrf(client, "/mot-de-passe").await;
    let changed = app
        .post_form(
            client,
            "/mot-de-passe",
            &[
                ("csrf", &token),
                ("actuel", &credentials.password),
                ("nouveau", new_password),
                ("confirmation", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    new_password.to_owned()
}

/// Creates an account through the page; returns the page's HTML.
async fn create(app: &TestApp, client: &Client, name: &str, email: &str) -> (u16, String) {
    let token = app.csrf(client, "/structure/comptes").await;
    let response = app
        .post_form(
            client,
            "/structure/comptes",
            &[
                ("csrf", &token),
                ("nom", name),
                ("fonction", "Accompagnatrice"),
                ("courriel", email),
            ],
        )
        .await;
    (response.status().as_u16(), response.text().await.unwrap())
}

pub fn shown_credentials(html: &str) -> Credentials {
    let after = |marker: &str| {
        let start = html.find(marker).unwrap() + marker.len();
        let rest = &html[start..];
        rest[..rest.find('<').unwrap()].to_owned()
    };
    Credentials {
        login: after("Identifiant : <strong>"),
        password: after(r#"<strong class="secret">"#),
    }
}

on_each_backend! {
    async fn the_rgc_creates_an_account_and_the_person_signs_in(app) {
        let (_, client) = rgc(&app, "PLIE du Pays d'Aix", 2).await;
        let page = client.get(format!("{}/structure/comptes", app.address)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("0 compte actif sur 2"));

        let (status, html) = create(&app, &client, "Awa Diallo", "awa.diallo@plie.example").await;
        assert_eq!(status, 200);
        assert!(html.contains("1 compte actif sur 2"), "{html}");
        let credentials = shown_credentials(&html);
        assert_eq!(credentials.login, "adiallo");

        {
            let mut conn = app.database.connection().unwrap();
            let filter = relais::audit::Filter { action: Some("account_created".into()), ..Default::default() };
            let records = relais::audit::search(&mut conn, &filter, 10).unwrap();
            let by_page = records.iter().find(|r| r.actor_id.is_some()).expect("the RGC's creation is audited");
            assert_eq!(by_page.address.as_deref(), Some("127.0.0.1"), "with the address it came from");
            assert!(!by_page.details.contains("Diallo"), "no personal details in the trail");
        }

        let (status, html) = create(&app, &client, "", "pas-une-adresse").await;
        assert_eq!(status, 400);
        assert!(html.contains("Le nom est obligatoire"));
        assert!(html.contains(r#"name="courriel" type="email" autocomplete="off" required value="pas-une-adresse""#), "as typed: {html}");

        // The form sent again, or the address of another account, whatever
        // its case: one person, one account.
        for email in ["awa.diallo@plie.example", "Awa.Diallo@PLIE.example"] {
            let (status, html) = create(&app, &client, "Awa Diallo", email).await;
            assert_eq!(status, 400, "{email}");
            assert!(html.contains("est déjà celle d'un compte relais"), "{html}");
        }
        let mut conn = app.database.connection().unwrap();
        let partner = accounts::list_partners(&mut conn).unwrap().remove(0).partner;
        assert_eq!(accounts::list_for_partner(&mut conn, &partner.id).unwrap().len(), 2, "the RGC and Awa");
        drop(conn);

        let coach = app.browser();
        sign_in_for_good(&app, &coach, &credentials).await;
        let home = coach.get(format!("{}/", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("Awa Diallo") && home.contains("Se déconnecter"));
        let refused = coach.get(format!("{}/structure/comptes", app.address)).send().await.unwrap();
        assert_eq!(refused.status(), 403, "a coach does not manage accounts");
    }

    async fn activation_beyond_the_seats_is_refused_with_the_way_out(app) {
        let (partner, client) = rgc(&app, "PLIE du Pays d'Aix", 1).await;
        create(&app, &client, "Awa Diallo", "awa@plie.example").await;
        let (_, html) = create(&app, &client, "Bruno Martin", "bruno@plie.example").await;
        assert!(html.contains("créé mais inactif"), "{html}");
        assert!(html.contains("<td>inactif</td>") && !html.contains("désactivé"), "never active: {html}");
        let accounts = {
            let mut conn = app.database.connection().unwrap();
            accounts::list_for_partner(&mut conn, &partner).unwrap()
        };
        let bruno = accounts.iter().find(|a| a.login == "bmartin").unwrap();
        let awa = accounts.iter().find(|a| a.login == "adiallo").unwrap();

        let token = app.csrf(&client, "/structure/comptes").await;
        let refused = app.post_form(&client, &format!("/structure/comptes/{}/activation", bruno.id), &[("csrf", &token)]).await;
        assert_eq!(refused.status(), 409);
        assert!(refused.text().await.unwrap().contains("Désactivez d'abord le compte"));

        let freed = app.post_form(&client, &format!("/structure/comptes/{}/desactivation", awa.id), &[("csrf", &token)]).await;
        assert_eq!(freed.status(), 303);
        let activated = app.post_form(&client, &format!("/structure/comptes/{}/activation", bruno.id), &[("csrf", &token)]).await;
        assert_eq!(activated.status(), 303);
        let page = client.get(format!("{}/structure/comptes?avis=active", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Le compte est activé.") && page.contains("1 compte actif sur 1"));
    }

    async fn an_rgc_cannot_touch_another_partners_accounts(app) {
        let (_, ours) = rgc(&app, "PLIE du Pays d'Aix", 3).await;
        let (_, theirs) = rgc(&app, "Mission locale", 3).await;
        let (_, html) = create(&app, &theirs, "Chloé Petit", "chloe@ml.example").await;
        let login = shown_credentials(&html).login;
        let id = {
            let mut conn = app.database.connection().unwrap();
            let account = accounts::find_by_email(&mut conn, &relais::mail::EmailAddress::parse("chloe@ml.example").unwrap()).unwrap().unwrap();
            assert_eq!(account.login, login);
            account.id
        };
        let page = ours.get(format!("{}/structure/comptes", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains(&login), "another partner's account is not listed");
        let token = app.csrf(&ours, "/structure/comptes").await;
        for action in ["activation", "desactivation", "mot-de-passe", "identite"] {
            let response = app.post_form(&ours, &format!("/structure/comptes/{id}/{action}"), &[("csrf", &token)]).await;
            assert_eq!(response.status(), 404, "{action}");
        }
        let details = format!("/structure/comptes/{id}");
        assert_eq!(ours.get(format!("{}{details}", app.address)).send().await.unwrap().status(), 404);
        let fields = [("csrf", token.as_str()), ("nom", "Autre"), ("fonction", ""), ("courriel", "autre@ml.example")];
        assert_eq!(app.post_form(&ours, &details, &fields).await.status(), 404);
        let kept = relais::accounts::details(&mut app.database.connection().unwrap(), &id).unwrap();
        assert_eq!((kept.full_name.as_str(), kept.email.as_str()), ("Chloé Petit", "chloe@ml.example"));
        let untouched = {
            let mut conn = app.database.connection().unwrap();
            accounts::find(&mut conn, &id).unwrap()
        };
        assert_eq!(untouched.status, "active");
        assert!(untouched.must_change_password);
    }
}

on_each_backend! {
    async fn the_rgc_corrects_a_persons_details_and_the_login_stays(app) {
        let (_, client) = rgc(&app, "PLIE du Pays d'Aix", 3).await;
        let (_, html) = create(&app, &client, "Awa Dialo", "awa@plie.example").await;
        let login = shown_credentials(&html).login;
        create(&app, &client, "Bruno Martin", "bruno@plie.example").await;
        let id = relais::accounts::id_of_login(&mut app.database.connection().unwrap(), &login).unwrap().unwrap();
        let page = format!("/structure/comptes/{id}");
        let listing = client.get(format!("{}/structure/comptes", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(listing.contains(&format!(r#"<a href="{page}">Modifier</a>"#)), "{listing}");
        let form = client.get(format!("{}{page}", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(form.contains(r#"value="Awa Dialo""#) && form.contains(r#"value="awa@plie.example""#), "{form}");

        // Another person's address, or none that reads as one: refused, as typed.
        let token = app.csrf(&client, &page).await;
        for (email, reason) in [("Bruno@PLIE.example", "est déjà celle d'un compte relais"), ("pas-une-adresse", "adresse")] {
            let refused = app.post_form(&client, &page, &[("csrf", &token), ("nom", "Awa Diallo"), ("fonction", "Conseillère"), ("courriel", email)]).await;
            assert_eq!(refused.status(), 400, "{email}");
            let html = refused.text().await.unwrap();
            assert!(html.contains(reason) && html.contains(&format!(r#"value="{email}""#)), "{email}: {html}");
        }
        let saved = app.post_form(&client, &page, &[("csrf", &token), ("nom", "Awa Diallo"), ("fonction", "Conseillère"), ("courriel", "awa.diallo@plie.example")]).await;
        assert_eq!(saved.status(), 303);
        assert_eq!(saved.headers()["location"], "/structure/comptes?avis=modifie");
        let mut conn = app.database.connection().unwrap();
        let details = relais::accounts::details(&mut conn, &id).unwrap();
        assert_eq!((details.full_name.as_str(), details.job_title.as_str(), details.email.as_str()), ("Awa Diallo", "Conseillère", "awa.diallo@plie.example"));
        assert_eq!(accounts::find(&mut conn, &id).unwrap().login, login, "the login stays");
        // Traced, without the details themselves.
        let trail = relais::audit::search(&mut conn, &relais::audit::Filter { action: Some("account_updated".into()), ..Default::default() }, 10).unwrap();
        assert_eq!(trail.len(), 1);
        assert!(!trail[0].details.contains("Diallo") && !trail[0].details.contains("awa"), "{}", trail[0].details);
        // Without the form's token, nothing changes.
        let forged = app.post_form(&client, &page, &[("csrf", "faux"), ("nom", "X"), ("fonction", ""), ("courriel", "x@plie.example")]).await;
        assert_eq!(forged.status(), 403);
    }

    async fn an_address_with_accented_capitals_is_one_account_on_either_database(app) {
        // SQLite's lower() leaves « É » alone, PostgreSQL's lowers it: the
        // address is lowered before either sees it.
        let (_, client) = rgc(&app, "PLIE du Pays d'Aix", 3).await;
        let (status, html) = create(&app, &client, "Élise Martin", "Élise.Martin@PLIE.example").await;
        assert_eq!(status, 200, "{html}");
        let login = shown_credentials(&html).login;
        for email in ["élise.martin@plie.example", "ÉLISE.MARTIN@plie.example", "E\u{301}lise.martin@plie.example"] {
            let (status, html) = create(&app, &client, "Élise Martin", email).await;
            assert_eq!(status, 400, "{email}");
            assert!(html.contains("est déjà celle d'un compte relais"), "{email}: {html}");
        }
        let mut conn = app.database.connection().unwrap();
        let id = relais::accounts::id_of_login(&mut conn, &login).unwrap().unwrap();
        assert_eq!(relais::accounts::details(&mut conn, &id).unwrap().email, "élise.martin@plie.example");
        let asked = relais::mail::EmailAddress::parse("ÉLISE.MARTIN@PLIE.EXAMPLE").unwrap();
        let found = accounts::find_by_email(&mut conn, &asked).unwrap().expect("found whatever its case");
        assert_eq!(found.id, id);
    }

    async fn a_deleted_account_loses_its_details_and_its_login_stays_taken(app) {
        let (partner, client) = rgc(&app, "PLIE du Pays d'Aix", 3).await;
        let (_, html) = create(&app, &client, "Awa Diallo", "awa@plie.example").await;
        let credentials = shown_credentials(&html);
        let id = {
            let mut conn = app.database.connection().unwrap();
            accounts::list_for_partner(&mut conn, &partner).unwrap().into_iter().find(|a| a.login == "adiallo").unwrap().id
        };
        let token = app.csrf(&client, "/structure/comptes").await;
        let path = format!("/structure/comptes/{id}/suppression");
        let asked = app.post_form(&client, &path, &[("csrf", &token)]).await;
        assert_eq!(asked.status(), 200);
        assert!(asked.text().await.unwrap().contains("Supprimer définitivement"), "asks before deleting");
        let deleted = app.post_form(&client, &path, &[("csrf", &token), ("confirmation", "oui")]).await;
        assert_eq!(deleted.status(), 303);

        let mut conn = app.database.connection().unwrap();
        let account = accounts::find(&mut conn, &id).unwrap();
        assert_eq!((account.status.as_str(), account.full_name), ("deleted", None));
        assert!(accounts::find_by_email(&mut conn, &relais::mail::EmailAddress::parse("awa@plie.example").unwrap()).unwrap().is_none());
        drop(conn);
        // Its details are gone: nothing to correct.
        assert_eq!(client.get(format!("{}/structure/comptes/{id}", app.address)).send().await.unwrap().status(), 404);
        let attempt = app.browser();
        let refused = log_in_at(&attempt, &app.address, &credentials.login, &credentials.password).await;
        assert_eq!(refused.status(), 401);
        let (_, html) = create(&app, &client, "Awa Diallo", "awa@plie.example").await;
        assert_eq!(shown_credentials(&html).login, "adiallo2", "the login is never reused");
    }

    async fn a_login_used_from_two_addresses_is_shown_to_the_rgc_and_the_person(app) {
        let (_, client) = rgc(&app, "PLIE du Pays d'Aix", 3).await;
        let (_, html) = create(&app, &client, "Awa Diallo", "awa@plie.example").await;
        let credentials = shown_credentials(&html);
        let here = app.browser();
        let password = sign_in_for_good(&app, &here, &credentials).await;
        let home = here.get(format!("{}/", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(!home.contains("adresses différentes"));

        let elsewhere = helpers::client()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(Some("127.0.0.2".parse().unwrap()))
            .build()
            .unwrap();
        let signed_in = log_in_at(&elsewhere, &app.address, &credentials.login, &password).await;
        assert_eq!(signed_in.status(), 303);

        let home = here.get(format!("{}/", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("depuis 2 adresses différentes"), "{home}");
        let page = client.get(format!("{}/structure/comptes", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("utilisé depuis plusieurs adresses en même temps"));
    }
}
