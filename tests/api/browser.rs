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
    let profile = driver._profile.path().display().to_string();
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
    let rgc = {
        let mut conn = app.database.connection().unwrap();
        let now = chrono::Utc::now().naive_utc();
        let terms = relais::accounts::PartnerTerms {
            name: "PLIE du Pays d'Aix".to_owned(),
            agency_code: "13013".to_owned(),
            agreement_start: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            agreement_end: chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
            seats: 6,
            offers_service: true,
            referrals_service: true,
        };
        let partner = relais::accounts::create_partner(&mut conn, now, None, &terms).unwrap();
        let person =
            relais::accounts::Person::parse("Rachid Benali", "RGC", "rgc@plie.example").unwrap();
        relais::accounts::create_account(
            &mut conn,
            now,
            None,
            Some(&partner.id),
            relais::accounts::Role::Rgc,
            &person,
        )
        .unwrap()
        .1
    };
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

    client.close().await.unwrap();
}
