//! The platform admin's pages: partners, terms, RGC.

use chrono::Utc;
use relais::accounts::{self, Person, Role};
use reqwest::Client;

use crate::helpers::TestApp;
use crate::on_each_backend;
use crate::structure::{shown_credentials, sign_in_for_good};

pub async fn admin(app: &TestApp) -> Client {
    let credentials = {
        let mut conn = app.database.connection().unwrap();
        // Each admin of a test is another person, with an address of their own.
        static ADMINS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = ADMINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("louise.{n}@ft.example");
        let person = Person::parse("Louise Garnier", "Administratrice", &email).unwrap();
        accounts::create_account(
            &mut conn,
            Utc::now().naive_utc(),
            None,
            None,
            Role::Admin,
            &person,
        )
        .unwrap()
        .1
    };
    let client = app.browser();
    sign_in_for_good(app, &client, &credentials).await;
    client
}

async fn register(app: &TestApp, client: &Client, seats: &str, rgc_email: &str) -> (u16, String) {
    let token = app.csrf(client, "/admin/structures").await;
    let response = app
        .post_form(
            client,
            "/admin/structures",
            &[
                ("csrf", &token),
                ("nom", "PLIE du Pays d'Aix"),
                ("agence", "13013"),
                ("debut", "2021-01-01"),
                ("fin", "2099-12-31"),
                ("comptes", seats),
                ("consultation", "on"),
                ("delegation_mer", "on"),
                ("rgc_nom", "Rachid Benali"),
                ("rgc_fonction", "RGC"),
                ("rgc_courriel", rgc_email),
            ],
        )
        .await;
    (response.status().as_u16(), response.text().await.unwrap())
}

on_each_backend! {
    async fn the_admin_registers_a_partner_with_its_rgc(app) {
        let client = admin(&app).await;
        let (status, html) = register(&app, &client, "6", "rgc@plie.example").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("La structure est enregistrée avec son RGC."));
        let rgc = shown_credentials(&html);
        assert_eq!(rgc.login, "rbenali");
        assert!(html.contains("0 sur 6") && html.contains("rbenali"));

        let (status, html) = register(&app, &client, "beaucoup", "autre@plie.example").await;
        assert_eq!(status, 400);
        assert!(html.contains("nombre entier"));
        // Refused, the form shows what was typed, to be corrected.
        for kept in [r#"value="PLIE du Pays d'Aix""#, r#"value="beaucoup""#, r#"value="2021-01-01""#, r#"value="Rachid Benali""#, r#"value="autre@plie.example""#] {
            assert!(html.contains(kept), "{kept}");
        }
        assert!(html.contains(r#"name="delegation_mer" checked"#), "{html}");

        // The same partner sent again: two of one name could not be told apart.
        let (status, html) = register(&app, &client, "6", "autre@plie.example").await;
        assert_eq!(status, 400);
        assert!(html.contains("Une structure s'appelle déjà « PLIE du Pays d'Aix »"), "{html}");
        // An agreement already over: its accounts could never sign in.
        let mut conn = app.database.connection().unwrap();
        let over = accounts::PartnerTerms {
            agreement_start: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            agreement_end: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            ..crate::structure::terms("Mission locale", true)
        };
        let refused = accounts::create_partner(&mut conn, Utc::now().naive_utc(), None, &over).unwrap_err();
        assert!(refused.to_string().contains("déjà terminée"), "{refused}");
        assert_eq!(accounts::list_partners(&mut conn).unwrap().len(), 1);
        drop(conn);

        let rgc_client = app.browser();
        sign_in_for_good(&app, &rgc_client, &rgc).await;
        assert_eq!(rgc_client.get(format!("{}/admin/structures", app.address)).send().await.unwrap().status(), 403);
        assert_eq!(rgc_client.get(format!("{}/structure/comptes", app.address)).send().await.unwrap().status(), 200);
    }

    async fn seats_cannot_drop_below_the_active_accounts_and_the_rgc_can_be_replaced(app) {
        let client = admin(&app).await;
        register(&app, &client, "2", "rgc@plie.example").await;
        let partner = {
            let mut conn = app.database.connection().unwrap();
            let partner = accounts::list_partners(&mut conn).unwrap().remove(0).partner;
            for name in ["Awa Diallo", "Bruno Martin"] {
                let email = format!("{}@plie.example", name.to_lowercase().replace(' ', "."));
                let person = Person::parse(name, "", &email).unwrap();
                accounts::create_account(&mut conn, Utc::now().naive_utc(), None, Some(&partner.id), Role::Coach, &person).unwrap();
            }
            partner
        };
        let page = format!("/admin/structures/{}", partner.id);
        let token = app.csrf(&client, &page).await;
        let terms = |seats: &'static str| {
            vec![("csrf", token.clone()), ("nom", "PLIE du Pays d'Aix".into()), ("agence", "13013".into()),
                 ("debut", "2021-01-01".into()), ("fin", "2099-12-31".into()), ("comptes", seats.into()), ("consultation", "on".into())]
        };
        let fields = |pairs: &[(&'static str, String)]| pairs.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let refused = client.post(format!("{}{page}", app.address)).form(&fields(&terms("1"))).send().await.unwrap();
        assert_eq!(refused.status(), 400);
        let html = refused.text().await.unwrap();
        assert!(html.contains("La structure a 2 comptes actifs : le nombre autorisé"), "{html}");
        assert!(html.contains(r#"name="comptes" type="number" min="0" max="1000" required value="1""#), "as typed: {html}");
        assert!(!html.contains(r#"name="delegation_mer" checked"#), "as typed: unticked");
        let saved = client.post(format!("{}{page}", app.address)).form(&fields(&terms("4"))).send().await.unwrap();
        assert_eq!(saved.status(), 303);

        let replaced = app
            .post_form(&client, &format!("{page}/rgc"), &[("csrf", &token), ("rgc_nom", "Sonia Haddad"), ("rgc_fonction", "RGC"), ("rgc_courriel", "sonia@plie.example"), ("ancien", "compte")])
            .await;
        assert_eq!(replaced.status(), 200);
        assert_eq!(shown_credentials(&replaced.text().await.unwrap()).login, "shaddad");
        let mut conn = app.database.connection().unwrap();
        let accounts = accounts::list_for_partner(&mut conn, &partner.id).unwrap();
        let rgcs: Vec<&str> = accounts.iter().filter(|a| a.role == "rgc").map(|a| a.login.as_str()).collect();
        assert_eq!(rgcs, ["shaddad"], "exactly one RGC");
        let former = accounts.iter().find(|a| a.login == "rbenali").unwrap();
        assert_eq!((former.role.as_str(), former.status.as_str()), ("coach", "active"), "a seat was free (3 of 4)");
        drop(conn);

        // Kept as an account with every seat taken, the former RGC is
        // deactivated, and the admin is told so.
        let replace = |name: &'static str, email: &'static str| {
            let (client, token, page) = (client.clone(), token.clone(), page.clone());
            let app = &app;
            async move {
                let fields = [("csrf", token.as_str()), ("rgc_nom", name), ("rgc_fonction", "RGC"), ("rgc_courriel", email), ("ancien", "compte")];
                app.post_form(&client, &format!("{page}/rgc"), &fields).await.text().await.unwrap()
            }
        };
        let html = replace("Nadia Amrani", "pas-une-adresse").await;
        assert!(html.contains(r#"value="Nadia Amrani""#) && html.contains(r#"value="pas-une-adresse""#), "as typed: {html}");
        let html = replace("Nadia Amrani", "nadia@plie.example").await;
        assert!(html.contains("Le nouveau RGC est désigné.") && !html.contains("mais désactivé"), "4 of 4");
        let html = replace("Karim Saadi", "karim@plie.example").await;
        assert!(html.contains("L'ancien (namrani) reste un compte de la structure, mais désactivé"), "{html}");

        // A coach of the partner taking over keeps their account, login and
        // password; reactivated if need be.
        let html = replace("Awa Diallo", "Awa.Diallo@plie.example").await;
        assert!(html.contains("Le compte adiallo devient celui du RGC, avec son identifiant et son mot de passe."), "{html}");
        assert!(!html.contains("Identifiants du nouveau RGC"), "no new password");
        let mut conn = app.database.connection().unwrap();
        let accounts = accounts::list_for_partner(&mut conn, &partner.id).unwrap();
        let rgcs: Vec<(&str, &str)> = accounts.iter().filter(|a| a.role == "rgc").map(|a| (a.login.as_str(), a.status.as_str())).collect();
        assert_eq!(rgcs, [("adiallo", "active")], "exactly one RGC, active");
        drop(conn);
        let html = replace("Awa Diallo", "awa.diallo@plie.example").await;
        assert!(html.contains("awa.diallo@plie.example est déjà le RGC de la structure (adiallo)."), "{html}");
        // An account that is not one of the partner's coaches is not taken
        // over: here another partner's RGC.
        let other = {
            let mut conn = app.database.connection().unwrap();
            let person = Person::parse("Zoé Martin", "RGC", "zoe@ml.example").unwrap();
            accounts::register_partner(&mut conn, Utc::now().naive_utc(), None, &crate::structure::terms("Mission locale", true), &person).unwrap()
        };
        let html = replace("Zoé Martin", "zoe@ml.example").await;
        assert!(html.contains("est déjà celle d'un compte relais"), "{html}");
        let mut conn = app.database.connection().unwrap();
        let zoe = accounts::find_by_email(&mut conn, &relais::mail::EmailAddress::parse("zoe@ml.example").unwrap()).unwrap().unwrap();
        assert_eq!((zoe.login.as_str(), zoe.partner_id == Some(partner.id.clone())), (other.login.as_str(), false));
    }

    async fn partner_names_are_told_apart_as_people_read_them(app) {
        let mut conn = app.database.connection().unwrap();
        let now = Utc::now().naive_utc();
        let named = |name: &str| crate::structure::terms(name, true);
        for name in ["Mission locale", "Étape Insertion", "Zénith Emploi"] {
            accounts::create_partner(&mut conn, now, None, &named(name)).unwrap();
        }
        // Capitals, accents and hyphens aside, the same name.
        for namesake in ["ÉTAPE-INSERTION", "etape insertion"] {
            let refused = accounts::create_partner(&mut conn, now, None, &named(namesake)).unwrap_err();
            assert!(refused.to_string().contains("Une structure s'appelle déjà"), "{namesake}: {refused}");
        }
        // Listed in alphabetical order, accents aside.
        let listed: Vec<String> = accounts::list_partners(&mut conn).unwrap().into_iter().map(|s| s.partner.terms.name).collect();
        assert_eq!(listed, ["Étape Insertion", "Mission locale", "Zénith Emploi"]);
    }

    async fn the_admin_unlinks_the_rgc_from_a_changed_provider_identity(app) {
        use diesel::prelude::*;
        use relais::db::schema::users;
        let client = admin(&app).await;
        register(&app, &client, "6", "rgc@plie.example").await;
        let mut conn = app.database.connection().unwrap();
        let partner = accounts::list_partners(&mut conn).unwrap().remove(0).partner;
        let rgc = accounts::current_rgc(&mut conn, &partner.id).unwrap().unwrap();
        let page = format!("/admin/structures/{}", partner.id);
        let html = client.get(format!("{}{page}", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("rbenali") && !html.contains("Délier l'identité du RGC"), "nothing to unlink yet");

        // The provider's sign-in linked the RGC (see sso.rs); here, as it left the row.
        diesel::update(users::table.find(&rgc.id)).set(users::sso_subject.eq("ancien-sub")).execute(&mut conn).unwrap();
        let html = client.get(format!("{}{page}", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("relié au fournisseur d'identité") && html.contains("Délier l'identité du RGC"));
        let token = app.csrf(&client, &page).await;
        let unlinked = app.post_form(&client, &format!("{page}/rgc/identite"), &[("csrf", &token)]).await;
        assert_eq!(unlinked.status(), 303);
        assert_eq!(unlinked.headers()["location"], format!("{page}?avis=identite-deliee"));
        let subject: Option<String> = users::table.find(&rgc.id).select(users::sso_subject).first(&mut conn).unwrap();
        assert_eq!(subject, None);
        let html = client.get(format!("{}{page}?avis=identite-deliee", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("L'identité du RGC est déliée") && !html.contains("Délier l'identité du RGC"));
        let trail = relais::audit::search(&mut conn, &relais::audit::Filter { action: Some("sso_unlinked".into()), ..Default::default() }, 10).unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].object_id.as_deref(), Some(rgc.id.as_str()));

        // A request without the form's token changes nothing.
        let refused = app.post_form(&client, &format!("{page}/rgc/identite"), &[("csrf", "faux")]).await;
        assert_eq!(refused.status(), 403);
    }

    async fn only_the_admin_reactivates_a_suspended_rgc(app) {
        let client = admin(&app).await;
        let (_, html) = register(&app, &client, "6", "rgc@plie.example").await;
        let credentials = shown_credentials(&html);
        let mut conn = app.database.connection().unwrap();
        let partner = accounts::list_partners(&mut conn).unwrap().remove(0).partner;
        let rgc = accounts::current_rgc(&mut conn, &partner.id).unwrap().unwrap();
        let page = format!("/admin/structures/{}", partner.id);
        let html = client.get(format!("{}{page}", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(!html.contains("Réactiver le RGC"), "an active RGC has nothing to reactivate");

        // Suspended as the inactivity job leaves it.
        {
            use diesel::prelude::*;
            use relais::db::schema::users;
            diesel::update(users::table.find(&rgc.id)).set(users::status.eq("suspended")).execute(&mut conn).unwrap();
        }
        let html = client.get(format!("{}{page}", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Le compte du RGC n'est pas actif") && html.contains("Réactiver le RGC"), "{html}");
        // The list of partners says so too.
        let list = client.get(format!("{}/admin/structures", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(list.contains(&format!(r#"{} — <strong class="warning">suspendu (inactivité)</strong>"#, rgc.login)), "{list}");
        let token = app.csrf(&client, &page).await;
        let refused = app.post_form(&client, &format!("{page}/rgc/reactivation"), &[("csrf", "faux")]).await;
        assert_eq!(refused.status(), 403);
        assert_eq!(accounts::find(&mut conn, &rgc.id).unwrap().status, "suspended");

        let done = app.post_form(&client, &format!("{page}/rgc/reactivation"), &[("csrf", &token)]).await;
        assert_eq!(done.status(), 303);
        assert_eq!(done.headers()["location"], format!("{page}?avis=rgc-reactive"));
        assert_eq!(accounts::find(&mut conn, &rgc.id).unwrap().status, "active");
        let html = client.get(format!("{}{page}?avis=rgc-reactive", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Le RGC est réactivé") && !html.contains("Réactiver le RGC"));
        let trail = relais::audit::search(&mut conn, &relais::audit::Filter { action: Some("account_reactivated".into()), ..Default::default() }, 10).unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].object_id.as_deref(), Some(rgc.id.as_str()));
        let rgc_client = app.browser();
        sign_in_for_good(&app, &rgc_client, &credentials).await;
        assert_eq!(rgc_client.get(format!("{}/structure/comptes", app.address)).send().await.unwrap().status(), 200);
    }
}

on_each_backend! {
    async fn the_journal_shows_each_side_what_it_may_see(app) {
        let admin_client = admin(&app).await;
        let (_, html) = register(&app, &admin_client, "6", "rgc@plie.example").await;
        let rgc = shown_credentials(&html);
        let rgc_client = app.browser();
        sign_in_for_good(&app, &rgc_client, &rgc).await;

        let other = {
            let mut conn = app.database.connection().unwrap();
            let terms = accounts::PartnerTerms {
                name: "Mission locale".to_owned(),
                agency_code: "84526".to_owned(),
                agreement_start: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
                agreement_end: chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
                seats: 2,
                offers_service: true,
                referrals_service: false,
            };
            let person = Person::parse("Zoé Martin", "RGC", "zoe@ml.example").unwrap();
            accounts::register_partner(&mut conn, Utc::now().naive_utc(), None, &terms, &person).unwrap()
        };

        let journal = rgc_client.get(format!("{}/journal", app.address)).send().await.unwrap();
        assert_eq!(journal.status(), 200);
        let html = journal.text().await.unwrap();
        assert!(html.contains("connexion") && html.contains("rbenali"), "{html}");
        assert!(!html.contains(&other.login), "another partner's events stay hidden");

        let all = admin_client.get(format!("{}/journal", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(all.contains(&other.login) && all.contains("rbenali"));
        // The admin sees which partner each operation concerns.
        assert!(all.contains(r#"<th scope="col">Structure</th>"#) && all.contains("<td>Mission locale</td>"), "{all}");
        assert!(!html.contains(r#"<th scope="col">Structure</th>"#), "the RGC's own partner goes without saying");
        let logins_only = admin_client
            .get(format!("{}/journal?action=login_succeeded", app.address))
            .send().await.unwrap().text().await.unwrap();
        assert!(!logins_only.contains("structure enregistrée</td>"), "filtered by action");
        // The login as typed, whatever its case.
        let by_person = admin_client
            .get(format!("{}/journal?personne={}", app.address, other.login.to_uppercase()))
            .send().await.unwrap().text().await.unwrap();
        assert!(by_person.contains(&other.login) && !by_person.contains("rbenali"), "filtered by person");
        let bad = admin_client.get(format!("{}/journal?du=hier", app.address)).send().await.unwrap();
        assert_eq!(bad.status(), 400);
        assert!(bad.text().await.unwrap().contains("jj/mm/aaaa"));
    }
}

/// Every page that needs a session: anonymous visitors are sent to log in,
/// and each role reaches only its own pages.
#[tokio::test]
async fn each_page_answers_each_role_as_it_should() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let admin_client = admin(&app).await;
    let (_, html) = register(&app, &admin_client, "6", "rgc@plie.example").await;
    let rgc = app.browser();
    sign_in_for_good(&app, &rgc, &shown_credentials(&html)).await;
    let partner = {
        let mut conn = app.database.connection().unwrap();
        accounts::list_partners(&mut conn)
            .unwrap()
            .remove(0)
            .partner
            .id
    };
    let coach = {
        let mut conn = app.database.connection().unwrap();
        let person = Person::parse("Awa Diallo", "", "awa@plie.example").unwrap();
        accounts::create_account(
            &mut conn,
            Utc::now().naive_utc(),
            None,
            Some(&partner),
            Role::Coach,
            &person,
        )
        .unwrap()
        .1
    };
    let coach_client = app.browser();
    sign_in_for_good(&app, &coach_client, &coach).await;
    let anonymous = app.browser();

    let partner_page = format!("/admin/structures/{partner}");
    // (page, anonymous, coach, RGC, admin)
    let expected: [(&str, u16, u16, u16, u16); 12] = [
        ("/", 303, 200, 200, 200),
        ("/confidentialite", 200, 200, 200, 200),
        ("/structure/comptes", 303, 403, 200, 403),
        ("/admin/structures", 303, 403, 403, 200),
        (&partner_page, 303, 403, 403, 200),
        ("/journal", 303, 403, 200, 200),
        ("/admin/synchronisation", 303, 403, 403, 200),
        ("/structure/activite", 303, 403, 200, 403),
        ("/structure/activite.csv", 303, 403, 200, 403),
        ("/admin/activite", 303, 403, 403, 200),
        ("/admin/activite.csv", 303, 403, 403, 200),
        ("/admin/annonces", 303, 403, 403, 200),
    ];
    for (page, anon, as_coach, as_rgc, as_admin) in expected {
        for (who, client, status) in [
            ("anonymous", &anonymous, anon),
            ("coach", &coach_client, as_coach),
            ("RGC", &rgc, as_rgc),
            ("admin", &admin_client, as_admin),
        ] {
            let response = client
                .get(format!("{}{page}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{page} as {who}");
            if status == 303 {
                // Back to the page asked for, once signed in.
                let back = match page {
                    "/" => "/connexion".to_owned(),
                    _ => format!(
                        "/connexion?{}",
                        serde_urlencoded::to_string([("suite", page)]).unwrap()
                    ),
                };
                assert_eq!(
                    response.headers()["location"],
                    back.as_str(),
                    "{page} as {who}"
                );
            }
        }
    }
}

/// Days as people write them, or as a date field sends them; a period the
/// wrong way round is explained.
#[tokio::test]
async fn the_journal_reads_days_both_ways_and_explains_a_reversed_period() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let client = admin(&app).await;
    let status = |path: &'static str| {
        let (client, address) = (client.clone(), app.address.clone());
        async move {
            let response = client.get(format!("{address}{path}")).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (code, html) = status("/journal?du=01/12/2026&au=2026-12-31").await;
    assert_eq!(code, 200, "{html}");
    let (code, html) = status("/journal?du=05/12/2026&au=04/12/2026").await;
    assert_eq!(code, 400);
    assert!(html.contains("doit précéder"), "{html}");
    let (code, html) = status("/journal?du=décembre").await;
    assert_eq!(code, 400);
    assert!(html.contains("jj/mm/aaaa"), "{html}");
}
