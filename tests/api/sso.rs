//! Single sign-on against a real OpenID Connect provider on loopback:
//! `oidc-provider` from npm (OpenID Certified), configured in `tests/oidc`,
//! installed (`npm ci`) and started once for the whole test run. Its sign-in
//! page lets a test say who the person is, or refuse.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use chrono::NaiveDate;
use diesel::prelude::*;
use relais::accounts::{self, PartnerTerms, Person, Role};
use relais::audit::{self, Filter};
use relais::config::Settings;
use relais::db::schema::users;
use reqwest::{Client, Url};

use crate::helpers::{Backend, TestApp, free_port, log_in_at, spawn_app_with};
use crate::structure::terms;

pub const PROVIDER_NAME: &str = "Fournisseur de test";
const CLIENT_ID: &str = "relais-tests";
const CLIENT_SECRET: &str = "secret-du-fournisseur-de-test";
const RETURN_PATH: &str = "/connexion/sso/retour";

/// The provider process, its issuer URL, and the pipes that keep it alive:
/// it exits when its standard input closes, that is when the tests end.
struct RunningProvider {
    issuer: String,
    _process: Mutex<(Child, ChildStdin, BufReader<ChildStdout>)>,
}

fn provider_issuer() -> &'static str {
    static PROVIDER: OnceLock<RunningProvider> = OnceLock::new();
    &PROVIDER.get_or_init(start_provider).issuer
}

fn start_provider() -> RunningProvider {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    if !folder.join("node_modules/oidc-provider").is_dir() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&folder)
            .status()
            .expect("npm runs the test OpenID provider (apt-get install nodejs npm)");
        assert!(installed.success(), "npm ci failed in tests/oidc");
    }
    let mut process = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&folder)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs the test OpenID provider (apt-get install nodejs)");
    let stdin = process.stdin.take().unwrap();
    let mut stdout = BufReader::new(process.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
        .parse()
        .unwrap();
    RunningProvider {
        issuer: format!("http://127.0.0.1:{port}"),
        _process: Mutex::new((process, stdin, stdout)),
    }
}

/// Points relais's single sign-on at the test provider (started if need be).
pub fn through_test_provider(settings: &mut Settings) {
    settings.sso.issuer_url = provider_issuer().to_owned();
    settings.sso.client_id = CLIENT_ID.to_owned();
    settings.sso.client_secret = CLIENT_SECRET.to_owned();
    settings.sso.display_name = PROVIDER_NAME.to_owned();
}

/// relais with single sign-on through the test provider.
pub async fn app_with_sso(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, through_test_provider).await
}

/// Who the provider says the person is.
pub struct Identity<'a> {
    pub subject: &'a str,
    pub email: &'a str,
    pub verified: bool,
}

fn location(response: &reqwest::Response) -> Url {
    let value = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", response.status()))
        .to_str()
        .unwrap();
    response.url().join(value).unwrap()
}

/// Starts a sign-in on relais and follows it to the provider's sign-in page.
async fn to_provider_page(app: &TestApp, client: &Client) -> Url {
    from_start_to_provider_page(app, client, "/connexion/sso").await
}

/// The same, from the start link `start` (the page to come back to in it).
async fn from_start_to_provider_page(app: &TestApp, client: &Client, start: &str) -> Url {
    let start = client
        .get(format!("{}{start}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        start.status(),
        303,
        "relais sends the person to the provider"
    );
    let mut url = location(&start);
    loop {
        let response = client.get(url.clone()).send().await.unwrap();
        if response.status() == 200 {
            let page = response.text().await.unwrap();
            assert!(page.contains("Fournisseur d'identité de test"), "{page}");
            return url;
        }
        url = location(&response);
    }
}

/// Signs in at the provider (or refuses) and follows its redirects up to
/// relais's return address, which is returned without being opened.
async fn answer_at_provider(client: &Client, page: Url, form: &[(&str, &str)]) -> Url {
    let mut response = client.post(page).form(form).send().await.unwrap();
    loop {
        let next = location(&response);
        if next.path() == RETURN_PATH {
            return next;
        }
        response = client.get(next).send().await.unwrap();
    }
}

/// The provider's way back to relais after signing in as `who`.
pub async fn signed_in_at_provider(app: &TestApp, client: &Client, who: &Identity<'_>) -> Url {
    let page = to_provider_page(app, client).await;
    let mut form = vec![
        ("sub", who.subject),
        ("email", who.email),
        ("action", "accept"),
    ];
    if who.verified {
        form.push(("verified", "oui"));
    }
    answer_at_provider(client, page, &form).await
}

/// The whole sign-in; returns relais's answer to the way back.
async fn sign_in(app: &TestApp, client: &Client, who: &Identity<'_>) -> reqwest::Response {
    let back = signed_in_at_provider(app, client, who).await;
    client.get(back).send().await.unwrap()
}

/// Registered when its agreement began: one already over is refused now.
fn new_partner(app: &TestApp, terms: &PartnerTerms) -> String {
    let mut conn = app.database.connection().unwrap();
    let registered = terms.agreement_start.and_hms_opt(12, 0, 0).unwrap();
    accounts::create_partner(&mut conn, registered, None, terms)
        .unwrap()
        .id
}

/// A coach account of that partner; returns its id and first credentials.
fn coach(app: &TestApp, partner: &str, name: &str, email: &str) -> (String, accounts::Credentials) {
    let mut conn = app.database.connection().unwrap();
    let person = Person::parse(name, "Conseillère", email).unwrap();
    let (account, credentials) = accounts::create_account(
        &mut conn,
        app.clock_now(),
        None,
        Some(partner),
        Role::Coach,
        &person,
    )
    .unwrap();
    (account.id, credentials)
}

fn linked_subject(app: &TestApp, account: &str) -> Option<String> {
    let mut conn = app.database.connection().unwrap();
    users::table
        .find(account)
        .select(users::sso_subject)
        .first(&mut conn)
        .unwrap()
}

/// The audit rows of an action, as (actor, details).
fn audited(app: &TestApp, action: &str) -> Vec<(Option<String>, String)> {
    let mut conn = app.database.connection().unwrap();
    let filter = Filter {
        action: Some(action.to_owned()),
        ..Filter::default()
    };
    audit::search(&mut conn, &filter, 100)
        .unwrap()
        .into_iter()
        .map(|r| (r.actor_id, r.details))
        .collect()
}

/// The home page as this client sees it: its status, and its text if signed in.
async fn home(app: &TestApp, client: &Client) -> (u16, String) {
    let response = client
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The URL with one query parameter replaced.
fn with_param(url: &Url, key: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key { value.into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

fn subject() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn links_by_verified_email_then_matches_on_subject(backend: Backend) {
    let Some(app) = app_with_sso(backend).await else {
        return;
    };
    let partner = new_partner(&app, &terms("PLIE du Pays d'Aix", true));
    let (awa, credentials) = coach(&app, &partner, "Awa Diallo", "Awa.Diallo@plie.example");
    let login_page = app.get("/connexion").await.text().await.unwrap();
    assert!(login_page.contains("Se connecter avec Fournisseur de test"));

    let sub = subject();
    let client = app.browser();
    let answer = sign_in(
        &app,
        &client,
        &Identity {
            subject: &sub,
            email: "awa.diallo@PLIE.example",
            verified: true,
        },
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/");
    let (status, page) = home(&app, &client).await;
    assert_eq!(
        status, 200,
        "signed in, and not asked for the first password"
    );
    assert!(page.contains("Awa Diallo"), "{page}");
    assert_eq!(linked_subject(&app, &awa).as_deref(), Some(sub.as_str()));
    assert_eq!(
        audited(&app, "sso_linked"),
        vec![(Some(awa.clone()), "{}".to_owned())]
    );
    assert!(
        audited(&app, "login_succeeded")
            .contains(&(Some(awa.clone()), r#"{"method":"sso"}"#.to_owned())),
        "the session's opening is audited with its method"
    );

    // Later the provider knows the person under another address: `sub` decides.
    let elsewhere = app.browser();
    let answer = sign_in(
        &app,
        &elsewhere,
        &Identity {
            subject: &sub,
            email: "awa@autre-adresse.example",
            verified: false,
        },
    )
    .await;
    assert_eq!(answer.status(), 303);
    let (status, page) = home(&app, &elsewhere).await;
    assert_eq!(status, 200);
    assert!(page.contains("Awa Diallo"));
    assert_eq!(audited(&app, "sso_linked").len(), 1, "linked once");

    // The password still works, and still asks for a personal one first.
    let local = app.browser();
    let answer = log_in_at(
        &local,
        &app.address,
        &credentials.login,
        &credentials.password,
    )
    .await;
    assert_eq!(answer.headers()["location"], "/mot-de-passe");
}

async fn never_creates_an_account(backend: Backend) {
    let Some(app) = app_with_sso(backend).await else {
        return;
    };
    let partner = new_partner(&app, &terms("PLIE du Pays d'Aix", true));
    let (awa, _) = coach(&app, &partner, "Awa Diallo", "awa.diallo@plie.example");
    let accounts_before = {
        let mut conn = app.database.connection().unwrap();
        users::table.count().get_result::<i64>(&mut conn).unwrap()
    };

    let stranger = app.browser();
    let answer = sign_in(
        &app,
        &stranger,
        &Identity {
            subject: &subject(),
            email: "inconnu@ailleurs.example",
            verified: true,
        },
    )
    .await;
    assert_eq!(answer.status(), 403);
    let page = answer.text().await.unwrap();
    assert!(page.contains("Aucun compte relais ne correspond"), "{page}");
    assert!(page.contains("ne crée pas de compte"));
    assert!(page.contains("responsable de gestion des comptes (RGC)"));
    assert_eq!(home(&app, &stranger).await.0, 303, "not signed in");

    // The provider does not vouch for the address: no link, whatever the account.
    let unverified = app.browser();
    let answer = sign_in(
        &app,
        &unverified,
        &Identity {
            subject: &subject(),
            email: "awa.diallo@plie.example",
            verified: false,
        },
    )
    .await;
    assert_eq!(answer.status(), 403);
    assert!(answer.text().await.unwrap().contains("n'atteste pas"));
    assert_eq!(home(&app, &unverified).await.0, 303);
    assert_eq!(linked_subject(&app, &awa), None);

    let accounts_after = {
        let mut conn = app.database.connection().unwrap();
        users::table.count().get_result::<i64>(&mut conn).unwrap()
    };
    assert_eq!(accounts_after, accounts_before, "no account created");
    let reasons: Vec<String> = audited(&app, "sso_failed")
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert!(
        reasons.contains(&r#"{"reason":"no_account"}"#.to_owned()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&r#"{"reason":"email_not_verified"}"#.to_owned()),
        "{reasons:?}"
    );
}

async fn refuses_accounts_a_password_would_not_let_in(backend: Backend) {
    let Some(app) = app_with_sso(backend).await else {
        return;
    };
    let partner = new_partner(&app, &terms("PLIE du Pays d'Aix", true));
    let (awa, _) = coach(&app, &partner, "Awa Diallo", "awa.diallo@plie.example");
    let sub = subject();
    let awa_at_provider = Identity {
        subject: &sub,
        email: "awa.diallo@plie.example",
        verified: true,
    };
    let client = app.browser();
    assert_eq!(sign_in(&app, &client, &awa_at_provider).await.status(), 303);

    // Deactivated by the RGC: her live session ends, and the provider cannot reopen one.
    {
        let mut conn = app.database.connection().unwrap();
        accounts::deactivate(&mut conn, app.clock_now(), None, &awa).unwrap();
    }
    assert_eq!(home(&app, &client).await.0, 303);
    let answer = sign_in(&app, &client, &awa_at_provider).await;
    assert_eq!(answer.status(), 403);
    let page = answer.text().await.unwrap();
    assert!(page.contains("Votre compte n'est pas actif"), "{page}");
    assert_eq!(home(&app, &client).await.0, 303);

    // A partner whose agreement is over: refused with the agreement's dates.
    let ended = PartnerTerms {
        agreement_start: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        agreement_end: NaiveDate::from_ymd_opt(2021, 12, 31).unwrap(),
        ..terms("Mission locale", true)
    };
    let former = new_partner(&app, &ended);
    coach(&app, &former, "Léa Martin", "lea.martin@ml.example");
    let lea = app.browser();
    let answer = sign_in(
        &app,
        &lea,
        &Identity {
            subject: &subject(),
            email: "lea.martin@ml.example",
            verified: true,
        },
    )
    .await;
    assert_eq!(answer.status(), 403);
    let page = answer.text().await.unwrap();
    assert!(page.contains("du 01/01/2020 au 31/12/2021"), "{page}");
    assert_eq!(home(&app, &lea).await.0, 303);
}

async fn deleting_an_account_frees_its_identity(backend: Backend) {
    let Some(app) = app_with_sso(backend).await else {
        return;
    };
    let partner = new_partner(&app, &terms("PLIE du Pays d'Aix", true));
    let (first, _) = coach(&app, &partner, "Awa Diallo", "awa.diallo@plie.example");
    let sub = subject();
    let awa_at_provider = Identity {
        subject: &sub,
        email: "awa.diallo@plie.example",
        verified: true,
    };
    assert_eq!(
        sign_in(&app, &app.browser(), &awa_at_provider)
            .await
            .status(),
        303
    );
    assert_eq!(linked_subject(&app, &first).as_deref(), Some(sub.as_str()));

    {
        let mut conn = app.database.connection().unwrap();
        accounts::delete(&mut conn, app.clock_now(), None, &first).unwrap();
    }
    assert_eq!(linked_subject(&app, &first), None);
    let (second, _) = coach(&app, &partner, "Awa Diallo-Sow", "awa.diallo@plie.example");
    let client = app.browser();
    assert_eq!(sign_in(&app, &client, &awa_at_provider).await.status(), 303);
    let (status, page) = home(&app, &client).await;
    assert_eq!(status, 200);
    assert!(page.contains("Awa Diallo-Sow"), "{page}");
    assert_eq!(linked_subject(&app, &second).as_deref(), Some(sub.as_str()));
}

/// A person whose identity at the provider changed (a new `sub` for the
/// same email) is refused until their RGC unlinks the old one; the account,
/// its history and its password stay.
async fn the_rgc_unlinks_an_identity_that_changed_at_the_provider(backend: Backend) {
    let Some(app) = app_with_sso(backend).await else {
        return;
    };
    let (partner, rgc) = crate::structure::rgc(&app, "PLIE du Pays d'Aix", 6).await;
    let (awa, _) = coach(&app, &partner, "Awa Diallo", "awa.diallo@plie.example");
    let (first, second) = (subject(), subject());
    let at_provider = |subject| Identity {
        subject,
        email: "awa.diallo@plie.example",
        verified: true,
    };
    let signed_in = sign_in(&app, &app.browser(), &at_provider(&first)).await;
    assert_eq!(signed_in.status(), 303);
    let refused = sign_in(&app, &app.browser(), &at_provider(&second)).await;
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("déjà relié à une autre identité")
    );

    let accounts_path = "/structure/comptes";
    let page_of = |path: String| {
        let request = rgc.get(format!("{}{path}", app.address)).send();
        async { request.await.unwrap().text().await.unwrap() }
    };
    let page = page_of(accounts_path.to_owned()).await;
    assert!(
        page.contains("relié au fournisseur d'identité") && page.contains("Délier l'identité"),
        "{page}"
    );
    let token = app.csrf(&rgc, accounts_path).await;
    let unlinked = app
        .post_form(
            &rgc,
            &format!("{accounts_path}/{awa}/identite"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(unlinked.status(), 303);
    let told = page_of(format!("{accounts_path}?avis=identite-deliee")).await;
    assert!(
        told.contains("Le compte est délié de son identité chez le fournisseur")
            && !told.contains("Délier l'identité"),
        "{told}"
    );
    assert_eq!(linked_subject(&app, &awa), None);
    assert_eq!(audited(&app, "sso_unlinked").len(), 1);

    let client = app.browser();
    assert_eq!(
        sign_in(&app, &client, &at_provider(&second)).await.status(),
        303
    );
    let (status, home_page) = home(&app, &client).await;
    assert_eq!(status, 200);
    assert!(home_page.contains("Awa Diallo"), "{home_page}");
    assert_eq!(linked_subject(&app, &awa).as_deref(), Some(second.as_str()));
}

crate::scenarios_on_each_backend!(
    links_by_verified_email_then_matches_on_subject,
    never_creates_an_account,
    refuses_accounts_a_password_would_not_let_in,
    deleting_an_account_frees_its_identity,
    the_rgc_unlinks_an_identity_that_changed_at_the_provider
);

/// A link followed before signing in opens once signed in through the
/// provider too, as after a password; an address elsewhere never does.
#[tokio::test]
async fn the_page_asked_for_opens_after_the_provider() {
    let app = app_with_sso(Backend::Sqlite).await.unwrap();
    let partner = new_partner(&app, &terms("PLIE du Pays d'Aix", true));
    coach(&app, &partner, "Awa Diallo", "awa.diallo@plie.example");
    let sub = subject();
    let awa = [
        ("sub", sub.as_str()),
        ("email", "awa.diallo@plie.example"),
        ("verified", "oui"),
        ("action", "accept"),
    ];
    let client = app.browser();
    let wanted = "/offres?motsCles=cariste,magasinier&typeContrat=CDI";
    let asked = client
        .get(format!("{}{wanted}", app.address))
        .send()
        .await
        .unwrap();
    let login = location(&asked);
    assert_eq!(login.path(), "/connexion");
    let login_page = client
        .get(login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start =
        "/connexion/sso?suite=%2Foffres%3FmotsCles%3Dcariste%2Cmagasinier%26typeContrat%3DCDI";
    assert!(
        login_page.contains(&format!(r#"href="{}""#, start.replace('&', "&amp;"))),
        "{login_page}"
    );

    let page = from_start_to_provider_page(&app, &client, start).await;
    let back = answer_at_provider(&client, page, &awa).await;
    let answer = client.get(back).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], wanted);
    let opened = client.get(location(&answer)).send().await.unwrap();
    assert_eq!(opened.status(), 200);

    // A sign-in from a link, given up at the provider, leaves no page to a
    // later plain sign-in.
    let client = app.browser();
    from_start_to_provider_page(&app, &client, start).await;
    let page = to_provider_page(&app, &client).await;
    let back = answer_at_provider(&client, page, &awa).await;
    let answer = client.get(back).send().await.unwrap();
    assert_eq!(answer.headers()["location"], "/");

    // Another site's address is not followed: home instead.
    let client = app.browser();
    let page = from_start_to_provider_page(
        &app,
        &client,
        "/connexion/sso?suite=https%3A%2F%2Fevil.example%2F",
    )
    .await;
    let back = answer_at_provider(&client, page, &awa).await;
    let answer = client.get(back).send().await.unwrap();
    assert_eq!(answer.headers()["location"], "/");
}

#[tokio::test]
async fn every_provider_error_gets_a_french_page_and_opens_no_session() {
    let app = app_with_sso(Backend::Sqlite).await.unwrap();
    let partner = new_partner(&app, &terms("PLIE du Pays d'Aix", true));
    coach(&app, &partner, "Awa Diallo", "awa.diallo@plie.example");
    let sub = subject();
    let awa = Identity {
        subject: &sub,
        email: "awa.diallo@plie.example",
        verified: true,
    };
    let reasons = |app: &TestApp| -> Vec<String> {
        audited(app, "sso_failed")
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    };

    // The person refuses at the provider.
    let client = app.browser();
    let page = to_provider_page(&app, &client).await;
    let back = answer_at_provider(&client, page, &[("action", "deny")]).await;
    assert!(
        back.query().unwrap().contains("error=access_denied"),
        "{back}"
    );
    let answer = client.get(back).send().await.unwrap();
    assert_eq!(answer.status(), 403);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("La connexion a été annulée chez Fournisseur de test")
    );
    assert_eq!(home(&app, &client).await.0, 303);
    assert!(reasons(&app).contains(&r#"{"reason":"denied"}"#.to_owned()));

    // A made-up answer: no sign-in of this browser has this state.
    let client = app.browser();
    let answer = client
        .get(format!(
            "{}{RETURN_PATH}?code=abc&state=invente",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("n'est plus valable"));

    // A real answer opened in another browser than the one that started.
    let starter = app.browser();
    let back = signed_in_at_provider(&app, &starter, &awa).await;
    let other = app.browser();
    let answer = other.get(back.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(home(&app, &other).await.0, 303);

    // A code the provider does not take: its token endpoint says invalid_grant.
    let client = app.browser();
    let back = signed_in_at_provider(&app, &client, &awa).await;
    let answer = client
        .get(with_param(&back, "code", "code-perime"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("a expiré ou a déjà servi")
    );
    assert_eq!(home(&app, &client).await.0, 303);

    // An answer naming another provider than the one asked (RFC 9207 mix-up).
    let client = app.browser();
    let back = signed_in_at_provider(&app, &client, &awa).await;
    assert!(
        back.query_pairs().any(|(k, _)| k == "iss"),
        "the provider names itself"
    );
    let answer = client
        .get(with_param(&back, "iss", "http://127.0.0.1:1"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("n'a pas pu être vérifiée")
    );
    assert_eq!(home(&app, &client).await.0, 303);

    // The same answer twice: the first signs in, the second is refused.
    let client = app.browser();
    let back = signed_in_at_provider(&app, &client, &awa).await;
    assert_eq!(client.get(back.clone()).send().await.unwrap().status(), 303);
    let replay = app.browser();
    let answer = replay.get(back).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(home(&app, &replay).await.0, 303);

    let reasons = reasons(&app);
    for reason in ["denied", "stale_request", "code_rejected", "unverifiable"] {
        assert!(
            reasons.contains(&format!(r#"{{"reason":"{reason}"}}"#)),
            "{reason}: {reasons:?}"
        );
    }
}

#[tokio::test]
async fn a_provider_that_does_not_answer_gets_a_french_page() {
    let closed = free_port();
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.sso.issuer_url = format!("http://127.0.0.1:{closed}");
        settings.sso.client_id = CLIENT_ID.to_owned();
        settings.sso.display_name = PROVIDER_NAME.to_owned();
    })
    .await
    .unwrap();
    let client = app.browser();
    let answer = client
        .get(format!("{}/connexion/sso", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains("Fournisseur de test ne répond pas pour le moment"),
        "{page}"
    );
    assert!(
        page.contains(r#"name="identifiant""#),
        "the password form is still there"
    );
    assert_eq!(
        audited(&app, "sso_failed")
            .into_iter()
            .map(|(_, d)| d)
            .collect::<Vec<_>>(),
        vec![r#"{"reason":"provider_unreachable"}"#.to_owned()]
    );
}

#[tokio::test]
async fn without_a_provider_the_login_page_has_no_button() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.unwrap();
    let page = app.get("/connexion").await.text().await.unwrap();
    assert!(!page.contains("Se connecter avec"));
    assert_eq!(app.get("/connexion/sso").await.status(), 404);
}
