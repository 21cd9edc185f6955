//! `spawn_app` and what tests need around it.

use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use diesel::{Connection, PgConnection, RunQueryDsl};
use relais::apikeys::{self, Scope};
use relais::clock::ManualClock;
use relais::config::{Settings, Sources};
use relais::db::Database;
use relais::offers::store;
use relais::search::SearchIndex;
use relais::startup::Application;
use tempfile::TempDir;

pub const POSTGRES_URL_VARIABLE: &str = "RELAIS_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each test once per backend: `mod name { fn sqlite; fn postgres }`.
/// The PostgreSQL variant returns early, saying so, when no server is given.
#[macro_export]
macro_rules! on_each_backend {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                    .await
                    .expect("SQLite is always available");
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let Some($app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await
                else {
                    return;
                };
                $body
            }
        }
    )*};
}

/// Declares `mod name { fn sqlite; fn postgres }` for each scenario
/// `async fn name(backend: Backend)`, for tests that start their app
/// themselves (with settings of their own).
#[macro_export]
macro_rules! scenarios_on_each_backend {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$scenario($crate::helpers::Backend::Postgres).await;
            }
        }
    )*};
}

/// A fresh PostgreSQL database, dropped with this value.
pub struct PostgresDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PostgresDatabase {
    /// `None`, with a line on stderr, when RELAIS_TEST_POSTGRES_URL is not set.
    pub fn create() -> Option<PostgresDatabase> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            eprintln!("PostgreSQL variant skipped: {POSTGRES_URL_VARIABLE} is not set");
            return None;
        };
        // RELAIS_TEST_RUN tags a run's databases, so that CI can check it
        // dropped its own whatever else uses the server.
        let run = std::env::var("RELAIS_TEST_RUN").unwrap_or_else(|_| "local".to_owned());
        let name = format!("relais_test_{run}_{}", uuid::Uuid::new_v4().simple());
        let admin_url = without_tls(&admin_url);
        let url = with_database_name(&admin_url, &name);
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE}: cannot connect: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        Some(PostgresDatabase {
            admin_url,
            name,
            url,
        })
    }

    pub fn admin(&self, sql: &str) {
        let mut admin = PgConnection::establish(&self.admin_url).unwrap();
        diesel::sql_query(sql).execute(&mut admin).unwrap();
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// Loopback needs no TLS, and without it libpq never enters OpenSSL: servers
/// of finished tests still reconnecting when the test process exits would
/// otherwise race OpenSSL's exit-time cleanup (seen as heap corruption).
fn without_tls(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// The URL with its database path replaced.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Settings for a test: the embedded defaults, a random port, one worker,
/// and every file under `dir`.
pub fn test_settings(dir: &TempDir, database_url: String) -> Settings {
    let mut settings = Settings::load(&Sources::default()).unwrap();
    settings.server.address = "127.0.0.1:0".parse().unwrap();
    settings.server.workers = 1;
    settings.database.url = database_url;
    settings.database.pool_size = std::num::NonZeroU32::new(4).unwrap();
    settings.index.path = dir.path().join("index");
    settings.mail.file_dir = dir.path().join("outbox");
    // Tests run jobs themselves, deterministically.
    settings.mail.delivery_interval_secs = 0;
    settings.accounts.inactivity_check_hours = 0;
    settings.referrals.retention_check_hours = 0;
    settings
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The application's clock: tests move it forward.
    pub clock: ManualClock,
    pub settings: Settings,
    pub database: Database,
    pub search: SearchIndex,
    pub handle: ServerHandle,
    pub stopped: tokio::task::JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
    pub postgres: Option<PostgresDatabase>,
    pub dir: TempDir,
}

/// Starts the real server on port 0 with its own database and index folder.
/// `None` for PostgreSQL when no server is configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// The same, with settings changed before the start.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PostgresDatabase::create()?),
    };
    let database_url = match &postgres {
        Some(db) => db.url.clone(),
        None => sqlite_path(&dir).display().to_string(),
    };
    let mut settings = test_settings(&dir, database_url);
    configure(&mut settings);
    let clock = ManualClock::starting_at(chrono::Utc::now().naive_utc());
    let application =
        Application::build_with_clock(settings.clone(), std::sync::Arc::new(clock.clone()))
            .await
            .unwrap();
    Some(running(application, settings, clock, postgres, dir))
}

/// The application served in the background, as a test drives it.
fn running(
    application: Application,
    settings: Settings,
    clock: ManualClock,
    postgres: Option<PostgresDatabase>,
    dir: TempDir,
) -> TestApp {
    let port = application.port();
    let database = application.database().clone();
    let search = application.search().clone();
    let handle = application.handle();
    let stopped = tokio::spawn(application.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        clock,
        settings,
        database,
        search,
        handle,
        stopped,
        client: client().build().unwrap(),
        postgres,
        dir,
    }
}

/// The server started again on the settings (and files) a stopped one
/// left, once searches see every change in its database.
pub async fn restart(settings: Settings) -> TestApp {
    let clock = ManualClock::starting_at(chrono::Utc::now().naive_utc());
    let application =
        Application::build_with_clock(settings.clone(), std::sync::Arc::new(clock.clone()))
            .await
            .unwrap();
    let app = running(
        application,
        settings,
        clock,
        None,
        tempfile::tempdir().unwrap(),
    );
    app.wait_for_index().await;
    app
}

/// A client that opens a connection per request. A pooled connection left idle
/// while a test waits (for the index, a slow machine) may be closed by the
/// server's keep-alive timer just as the next request goes out on it, and the
/// request then fails with an incomplete message.
pub fn client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_max_idle_per_host(0)
}

pub fn sqlite_path(dir: &TempDir) -> PathBuf {
    dir.path().join("data").join("relais.db")
}

impl TestApp {
    /// A new API key of that scope.
    pub async fn key(&self, scope: Scope) -> String {
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        self.database
            .run(move |conn| apikeys::create(conn, &name, scope, chrono::Utc::now().naive_utc()))
            .await
            .unwrap()
    }

    pub async fn put_offer(&self, key: &str, document: &serde_json::Value) -> reqwest::Response {
        let id = document["id"].as_str().unwrap();
        self.client
            .put(format!("{}/api/v1/offres/{id}", self.address))
            .bearer_auth(key)
            .json(document)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_status(&self, key: &str, id: &str, status: &str) -> reqwest::Response {
        self.client
            .put(format!("{}/api/v1/offres/{id}/statut", self.address))
            .bearer_auth(key)
            .json(&serde_json::json!({ "statut": status }))
            .send()
            .await
            .unwrap()
    }

    pub async fn search(&self, key: &str, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/api/v1/offres/search?{query}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// Waits until searches see every offer change committed so far.
    pub async fn wait_for_index(&self) {
        let latest = self.database.run(store::latest_sequence).await.unwrap();
        self.search.wait_for(latest).await;
    }

    /// Stops the server and its indexer, releasing the index folder.
    pub async fn stop(self) -> (Settings, TempDir, Option<PostgresDatabase>) {
        self.handle.stop(true).await;
        self.stopped.await.unwrap().unwrap();
        (self.settings, self.dir, self.postgres)
    }

    /// The settings as the server runs with them: the port it took, not 0
    /// (jobs write links to it).
    pub fn served_settings(&self) -> Settings {
        let mut settings = self.settings.clone();
        settings.server.address.set_port(self.port);
        settings
    }

    /// Runs one job now, as the server's timer would.
    pub async fn run_job(&self, name: &'static str) -> String {
        let (database, settings, clock) = (
            self.database.clone(),
            self.served_settings(),
            self.clock.clone(),
        );
        tokio::task::spawn_blocking(move || {
            relais::jobs::run_once(name, &database, &settings, &clock)
        })
        .await
        .unwrap()
        .unwrap()
    }

    pub fn clock_now(&self) -> chrono::NaiveDateTime {
        relais::clock::Clock::now(&self.clock)
    }

    /// A client that keeps cookies and shows redirects instead of following them.
    pub fn browser(&self) -> reqwest::Client {
        browser()
    }

    /// The CSRF token of the form on that page.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        csrf_at(client, &format!("{}{path}", self.address)).await
    }

    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{path}", self.address))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Makes the database unusable from outside the application, as an
    /// operator's mistake or an outage would.
    pub fn cut_database(&self) {
        match &self.postgres {
            Some(db) => {
                db.admin(&format!(
                    "ALTER DATABASE {} ALLOW_CONNECTIONS false",
                    db.name
                ));
                db.admin(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                    db.name
                ));
            }
            None => {
                let path = sqlite_path(&self.dir);
                std::fs::rename(&path, path.with_extension("moved")).unwrap();
            }
        }
    }

    /// Makes the index folder unwritable, as a full or failing disk would:
    /// the folder moves away and a file takes its place, so that every file
    /// the indexer creates fails, while what it has open stays readable.
    pub fn cut_index_folder(&self) {
        let path = &self.settings.index.path;
        std::fs::rename(path, path.with_extension("moved")).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    pub fn restore_index_folder(&self) {
        let path = &self.settings.index.path;
        std::fs::remove_file(path).unwrap();
        std::fs::rename(path.with_extension("moved"), path).unwrap();
    }

    /// The status `/readyz` answers once it answers `status`, checked until
    /// a deadline: readiness follows the indexer's next pass, which nothing
    /// announces.
    pub async fn readiness_becomes(&self, status: u16) -> u16 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let answered = self.get("/readyz").await.status().as_u16();
            if answered == status || std::time::Instant::now() > deadline {
                return answered;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub fn restore_database(&self) {
        match &self.postgres {
            Some(db) => db.admin(&format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS true",
                db.name
            )),
            None => {
                let path = sqlite_path(&self.dir);
                std::fs::rename(path.with_extension("moved"), &path).unwrap();
            }
        }
    }
}

/// A client that keeps cookies and shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    client()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts the login form of the server at `base` (no trailing slash), with
/// the token of the form as served; the answer, redirects not followed.
pub async fn log_in_at(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    let form = format!("{base}/connexion");
    let token = csrf_at(client, &form).await;
    client
        .post(&form)
        .form(&[
            ("csrf", token.as_str()),
            ("identifiant", login),
            ("mot_de_passe", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The CSRF token of the form on the page at `url`.
pub async fn csrf_at(client: &reqwest::Client, url: &str) -> String {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    let start = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF field")
        + 19;
    html[start..start + 64].to_owned()
}

/// The relais binary built for these tests.
pub fn relais_binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_relais"));
    // The tests' own environment must not leak into the child's configuration.
    for (key, _) in std::env::vars() {
        if key.starts_with("RELAIS") {
            command.env_remove(key);
        }
    }
    command
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn database_name_is_replaced_in_urls() {
    assert_eq!(
        with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database_name("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database_name("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
