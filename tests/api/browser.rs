//! Pages in a real browser: Debian's chromium driven through chromedriver.
//! Without a driver the test says so and passes locally; under CI (CI=true)
//! a missing browser is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use fantoccini::Locator;
use serde_json::json;

use crate::helpers::{Backend, free_port, spawn_app};

struct Driver {
    process: Child,
    /// Kept open so that the driver never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn find(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|path| path.is_file())
}

/// Starts chromedriver, or explains why not.
fn start_driver() -> Option<Driver> {
    let Some(chromedriver) = find("chromedriver") else {
        let reason = "chromedriver is not installed (apt-get install chromium chromium-driver)";
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("browser test under CI: {reason}");
        }
        eprintln!("browser test skipped: {reason}");
        return None;
    };
    let port = free_port();
    let mut process = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // chromedriver prints "… started successfully …" once it accepts sessions.
    let mut stdout = BufReader::new(process.stdout.take().unwrap());
    let started = (&mut stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("started successfully"));
    assert!(started, "chromedriver did not start");
    Some(Driver {
        process,
        _stdout: stdout,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().unwrap(),
    })
}

async fn browser(driver: &Driver) -> fantoccini::Client {
    // One profile per browser: two cannot share one.
    let profile = driver
        ._profile
        .path()
        .join(uuid::Uuid::new_v4().simple().to_string())
        .display()
        .to_string();
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                format!("--user-data-dir={profile}"),
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    fantoccini::ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// With RELAIS_SCREENSHOTS=FOLDER, keeps a picture of the page for the README
/// (`RELAIS_SCREENSHOTS=tests/screenshots cargo test --test api browser`).
async fn save_screenshot(client: &fantoccini::Client, name: &str) {
    if let Some(folder) = std::env::var_os("RELAIS_SCREENSHOTS") {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        let png = client.screenshot().await.unwrap();
        std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test]
async fn the_login_page_in_chromium_has_its_title_and_its_stylesheet() {
    let Some(driver) = start_driver() else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let client = browser(&driver).await;

    client.goto(&format!("{}/", app.address)).await.unwrap();
    assert_eq!(
        client.title().await.unwrap(),
        "Connexion — relais",
        "sent to log in"
    );
    let header_colour = client
        .execute(
            "return getComputedStyle(document.querySelector('.site-header')).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        header_colour,
        json!("rgb(0, 0, 145)"),
        "the stylesheet applied"
    );
    let skip_link_top = client
        .execute(
            "return document.querySelector('.skip-link').getBoundingClientRect().bottom",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        skip_link_top.as_f64().unwrap() < 0.0,
        "the skip link is out of sight until focused"
    );

    save_screenshot(&client, "connexion").await;
    client.close().await.unwrap();
}

/// Clicks and waits for the next page: the old document is marked, and the
/// wait ends when a document without the mark is there.
async fn click_through(client: &fantoccini::Client, locator: Locator<'_>) {
    client
        .execute("document.documentElement.dataset.left = 'yes'", vec![])
        .await
        .unwrap();
    client.find(locator).await.unwrap().click().await.unwrap();
    client
        .wait()
        .for_element(Locator::XPath("/html[not(@data-left)]"))
        .await
        .unwrap();
}

/// Fills the form fields by id, then submits the page's main form.
async fn submit(client: &fantoccini::Client, fields: &[(&str, &str)]) {
    for (id, value) in fields {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click_through(client, Locator::Css("form.form button[type=submit]")).await;
}

async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_rgc_creates_an_account_and_the_new_person_signs_in() {
    let Some(driver) = start_driver() else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let rgc = member(
        &app,
        relais::accounts::Role::Rgc,
        "Rachid Benali",
        "rgc@plie.example",
    );
    let client = browser(&driver).await;
    let new_password = "une phrase assez longue pour relais";

    client
        .goto(&format!("{}/connexion", app.address))
        .await
        .unwrap();
    submit(
        &client,
        &[("identifiant", &rgc.login), ("mot_de_passe", &rgc.password)],
    )
    .await;
    assert_eq!(client.title().await.unwrap(), "Mot de passe — relais");
    submit(
        &client,
        &[
            ("actuel", &rgc.password),
            ("nouveau", new_password),
            ("confirmation", new_password),
        ],
    )
    .await;
    assert_eq!(
        client.title().await.unwrap(),
        "Accueil — relais",
        "{}",
        text_of(&client, "main").await
    );

    click_through(&client, Locator::LinkText("Comptes de la structure")).await;
    assert_eq!(
        client.title().await.unwrap(),
        "Comptes de la structure — relais"
    );
    submit(
        &client,
        &[
            ("nom", "Awa Diallo"),
            ("fonction", "Accompagnatrice emploi"),
            ("courriel", "awa.diallo@plie.example"),
        ],
    )
    .await;
    let password = text_of(&client, ".credentials .secret").await;
    assert!(
        text_of(&client, ".seats")
            .await
            .contains("1 compte actif sur 6")
    );
    save_screenshot(&client, "comptes").await;
    click_through(&client, Locator::Css("nav.account button")).await;
    assert_eq!(client.title().await.unwrap(), "Connexion — relais");
    assert_eq!(
        text_of(&client, ".notice").await,
        "Votre session est fermée."
    );

    submit(
        &client,
        &[("identifiant", "adiallo"), ("mot_de_passe", &password)],
    )
    .await;
    assert_eq!(client.title().await.unwrap(), "Mot de passe — relais");
    submit(
        &client,
        &[
            ("actuel", &password),
            ("nouveau", new_password),
            ("confirmation", new_password),
        ],
    )
    .await;
    assert_eq!(client.title().await.unwrap(), "Accueil — relais");
    assert!(text_of(&client, "nav.account").await.contains("Awa Diallo"));
    assert!(
        text_of(&client, ".notice")
            .await
            .contains("Votre mot de passe est enregistré.")
    );
    save_screenshot(&client, "accueil").await;

    // A form sent once the session has ended: the browser's own Referer
    // brings the person back to it after signing in again.
    client
        .goto(&format!("{}/mot-de-passe", app.address))
        .await
        .unwrap();
    app.clock.advance(chrono::Duration::minutes(31));
    let later = "une autre phrase assez longue";
    submit(
        &client,
        &[
            ("actuel", new_password),
            ("nouveau", later),
            ("confirmation", later),
        ],
    )
    .await;
    assert_eq!(client.title().await.unwrap(), "Connexion — relais");
    assert!(
        text_of(&client, "main")
            .await
            .contains("rien n'a été enregistré")
    );
    submit(
        &client,
        &[("identifiant", "adiallo"), ("mot_de_passe", new_password)],
    )
    .await;
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/mot-de-passe",
        "back to the form"
    );

    client.close().await.unwrap();
}

/// A member of a new partner, with a first password to change.
fn member(
    app: &crate::helpers::TestApp,
    role: relais::accounts::Role,
    name: &str,
    email: &str,
) -> relais::accounts::Credentials {
    let mut conn = app.database.connection().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let terms = crate::structure::terms("PLIE du Pays d'Aix", true);
    let partner = relais::accounts::create_partner(&mut conn, now, None, &terms).unwrap();
    let person = relais::accounts::Person::parse(name, "", email).unwrap();
    relais::accounts::create_account(&mut conn, now, None, Some(&partner.id), role, &person)
        .unwrap()
        .1
}

/// Signs in with a first password and replaces it.
async fn first_sign_in(
    client: &fantoccini::Client,
    address: &str,
    credentials: &relais::accounts::Credentials,
) {
    let new_password = "une phrase assez longue pour relais";
    client.goto(&format!("{address}/connexion")).await.unwrap();
    submit(
        client,
        &[
            ("identifiant", &credentials.login),
            ("mot_de_passe", &credentials.password),
        ],
    )
    .await;
    submit(
        client,
        &[
            ("actuel", &credentials.password),
            ("nouveau", new_password),
            ("confirmation", new_password),
        ],
    )
    .await;
}

/// The coach's day in chromium: search with filters, the offer, a mise en
/// relation and its sheet; then a contact request, whose mail reaches a real
/// SMTP server without the candidate's name, whose link the agency opens to
/// answer, and whose answer the coach sees.
async fn coach_journey(backend: Backend) {
    let Some(driver) = start_driver() else {
        return;
    };
    let inbox = crate::smtp::Inbox::default();
    let smtp_port = free_port();
    crate::smtp::start_smtp(smtp_port, inbox.clone());
    let files = tempfile::tempdir().unwrap();
    let Some(app) = crate::helpers::spawn_app_with(backend, |settings| {
        crate::smtp::through_smtp(settings, smtp_port, files.path())
    })
    .await
    else {
        return;
    };
    crate::referrals::publish(&app, "500AAAA", false).await;
    crate::referrals::publish(&app, "501AAAA", true).await;
    let coach = member(
        &app,
        relais::accounts::Role::Coach,
        "Awa Diallo",
        "awa.diallo@plie.example",
    );
    let client = browser(&driver).await;
    first_sign_in(&client, &app.address, &coach).await;

    // Search, then narrow down with a facet.
    click_through(&client, Locator::LinkText("Offres")).await;
    for (id, value) in [
        ("motsCles", "électricien"),
        ("commune", "Aix-en-Provence (13)"),
    ] {
        let field = client.find(Locator::Id(id)).await.unwrap();
        field.send_keys(value).await.unwrap();
    }
    click_through(&client, Locator::Css("form.search .search-main button")).await;
    assert_eq!(text_of(&client, "#resultats").await, "2 offres");
    client
        .find(Locator::Css("input[name=avecPreselection][value=false]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_through(&client, Locator::Css(".facets > button")).await;
    assert_eq!(text_of(&client, "#resultats").await, "1 offre");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("avecPreselection=false")
    );
    save_screenshot(&client, "recherche").await;

    // The offer, the mise en relation, the sheet.
    click_through(&client, Locator::Css("li.offer h3 a")).await;
    assert!(text_of(&client, "main").await.contains("Aix Galice"));
    submit(
        &client,
        &[
            ("nom", "Durand"),
            ("prenom", "Paul"),
            ("identifiant", "1234567A"),
        ],
    )
    .await;
    assert!(
        text_of(&client, ".notice")
            .await
            .contains("mise en relation est enregistrée")
    );
    click_through(&client, Locator::Css("a.button")).await;
    let sheet = text_of(&client, "main").await;
    for expected in [
        "Paul Durand",
        "1234567A",
        "Awa Diallo",
        "PLIE du Pays d'Aix",
        "Pour postuler",
    ] {
        assert!(sheet.contains(expected), "{expected} on the sheet");
    }
    save_screenshot(&client, "fiche").await;

    // The preselected offer: a contact request.
    client
        .goto(&format!("{}/offres/501AAAA", app.address))
        .await
        .unwrap();
    save_screenshot(&client, "offre").await;
    submit(
        &client,
        &[
            ("nom", "Martin"),
            ("prenom", "Léa"),
            ("identifiant", "7654321B"),
        ],
    )
    .await;
    assert!(
        text_of(&client, ".notice")
            .await
            .contains("demande de contact est enregistrée")
    );
    assert_eq!(
        app.run_job("deliver-mail").await,
        "1 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif."
    );
    let mail = inbox.received.lock().unwrap()[0].clone();
    assert!(
        !mail.contains("Martin") && !mail.contains("7654321B"),
        "{mail}"
    );
    let link = crate::referrals::agency_link(&mail);

    // The agency's team opens the link and answers.
    let agency = browser(&driver).await;
    agency
        .goto(&format!("{}{link}", app.address))
        .await
        .unwrap();
    assert!(text_of(&agency, "main").await.contains("7654321B"));
    agency
        .find(Locator::Css("input[name=reponse][value=candidat_convoque]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    save_screenshot(&agency, "demande").await;
    click_through(&agency, Locator::Css("form.form button[type=submit]")).await;
    assert!(
        text_of(&agency, ".notice")
            .await
            .contains("réponse est enregistrée")
    );
    agency.close().await.unwrap();

    // The coach sees the answer in their list.
    click_through(&client, Locator::LinkText("Mises en relation")).await;
    let list = text_of(&client, "table").await;
    assert!(list.contains("répondue : candidat convoqué"), "{list}");
    assert!(list.contains("Paul Durand") && list.contains("enregistrée"));
    save_screenshot(&client, "mises-en-relation").await;
    client.close().await.unwrap();

    // The partner's RGC follows that day's activity: two logins, two
    // searches (the form, then the facet), and the two requests answered.
    let rgc = {
        use diesel::prelude::*;
        let mut conn = app.database.connection().unwrap();
        let partner: Option<String> = relais::db::schema::users::table
            .filter(relais::db::schema::users::login.eq(&coach.login))
            .select(relais::db::schema::users::partner_id)
            .first(&mut conn)
            .unwrap();
        let person =
            relais::accounts::Person::parse("Rachid Benali", "RGC", "rgc@plie.example").unwrap();
        let now = chrono::Utc::now().naive_utc();
        let role = relais::accounts::Role::Rgc;
        relais::accounts::create_account(&mut conn, now, None, partner.as_deref(), role, &person)
            .unwrap()
            .1
    };
    let manager = browser(&driver).await;
    first_sign_in(&manager, &app.address, &rgc).await;
    click_through(&manager, Locator::LinkText("Activité")).await;
    assert_eq!(manager.title().await.unwrap(), "Activité — relais");
    let total = text_of(&manager, "table.counts tbody tr:last-child").await;
    let total: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(total, ["Total", "2", "2", "1", "1", "1", "1"]);
    save_screenshot(&manager, "activite").await;
    manager.close().await.unwrap();
}

mod the_coach_journey_in_chromium {
    #[tokio::test]
    async fn sqlite() {
        super::coach_journey(super::Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::coach_journey(super::Backend::Postgres).await;
    }
}

/// From the login page, through the test provider's own sign-in page as this
/// person (email verified), back to relais.
async fn through_the_test_provider(client: &fantoccini::Client, subject: &str, email: &str) {
    let button = format!("Se connecter avec {}", crate::sso::PROVIDER_NAME);
    click_through(client, Locator::LinkText(&button)).await;
    assert_eq!(
        client.title().await.unwrap(),
        "Fournisseur d'identité de test"
    );
    for (id, value) in [("sub", subject), ("email", email)] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    client
        .find(Locator::Id("verified"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_through(client, Locator::Id("accept")).await;
}

/// Single sign-on in chromium: the login page's button, the provider's own
/// sign-in page, and back to relais signed in, through every redirect of the
/// authorization code flow.
#[tokio::test]
async fn single_sign_on_through_a_real_provider_in_chromium() {
    let Some(driver) = start_driver() else {
        return;
    };
    let app = crate::sso::app_with_sso(Backend::Sqlite).await.unwrap();
    member(
        &app,
        relais::accounts::Role::Coach,
        "Awa Diallo",
        "awa.diallo@plie.example",
    );
    let client = browser(&driver).await;
    client
        .goto(&format!("{}/connexion", app.address))
        .await
        .unwrap();
    save_screenshot(&client, "connexion-sso").await;
    through_the_test_provider(
        &client,
        "awa-chez-le-fournisseur",
        "awa.diallo@plie.example",
    )
    .await;

    assert_eq!(client.title().await.unwrap(), "Accueil — relais");
    assert!(text_of(&client, "body").await.contains("Awa Diallo"));
    client.close().await.unwrap();
}

/// The platform admin signs in through the provider and reads the upstream
/// sync's runs.
#[tokio::test]
async fn the_admin_reads_the_sync_runs_in_chromium() {
    let Some(driver) = start_driver() else {
        return;
    };
    let now = chrono::Utc::now();
    let upstream = (0..30)
        .map(|i| {
            let created = now - chrono::Duration::hours(i + 1);
            crate::france_travail::offer(&format!("SYNC{i:04}"), "13001", created)
        })
        .collect();
    let standin = crate::france_travail::StandIn::start(upstream).await;
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |settings| {
        standin.configure(settings);
        crate::sso::through_test_provider(settings);
    })
    .await
    .unwrap();
    {
        let mut conn = app.database.connection().unwrap();
        let person = relais::accounts::Person::parse(
            "Agnès Martin",
            "Administratrice",
            "agnes.martin@francetravail.example",
        )
        .unwrap();
        relais::accounts::create_account(
            &mut conn,
            chrono::Utc::now().naive_utc(),
            None,
            None,
            relais::accounts::Role::Admin,
            &person,
        )
        .unwrap();
    }
    let (database, settings, clock) = (
        app.database.clone(),
        app.settings.clone(),
        app.clock.clone(),
    );
    let summary = tokio::task::spawn_blocking(move || {
        relais::jobs::run_once("sync-offers", &database, &settings, &clock)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(summary.contains("30 créée(s)"), "{summary}");

    let client = browser(&driver).await;
    client
        .goto(&format!("{}/connexion", app.address))
        .await
        .unwrap();
    through_the_test_provider(
        &client,
        "agnes-chez-le-fournisseur",
        "agnes.martin@francetravail.example",
    )
    .await;
    assert_eq!(client.title().await.unwrap(), "Accueil — relais");

    click_through(&client, Locator::LinkText("Synchronisation")).await;
    assert_eq!(
        client.title().await.unwrap(),
        "Synchronisation avec France Travail — relais"
    );
    let runs = text_of(&client, "table tbody").await;
    assert!(runs.contains("réussie"), "{runs}");
    save_screenshot(&client, "synchronisation").await;

    // Then announces a maintenance, which shows at once above the page.
    click_through(&client, Locator::LinkText("Annonces")).await;
    let start = app.clock_now() + chrono::Duration::days(3);
    let end = start + chrono::Duration::hours(2);
    for (id, at) in [("debut", start), ("fin", end)] {
        // A datetime-local field types in the browser's locale: set its value.
        let value = relais::clock::in_paris(at)
            .format(relais::clock::INPUT_FORMAT)
            .to_string();
        client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1]",
                vec![id.into(), value.into()],
            )
            .await
            .unwrap();
    }
    client
        .find(Locator::Css("input[name=maintenance]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(
        &client,
        &[(
            "message",
            "Mise à jour du portail : enregistrez vos demandes avant.",
        )],
    )
    .await;
    let banner = text_of(&client, ".announcements").await;
    assert!(
        banner.starts_with("Maintenance prévue") && banner.contains("enregistrez vos demandes"),
        "{banner}"
    );
    assert!(text_of(&client, "table tbody").await.contains("affichée"));
    save_screenshot(&client, "annonces").await;
    client.close().await.unwrap();
}
