//! Building and running the application: the library's entry point, used by
//! the binary and by the integration tests alike.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::agencies::{self, AgencyConfigError};
use crate::announcements::Board;
use crate::api::AgencyCodes;
use crate::auth::sso::Provider;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::db::{Database, DbError};
use crate::jobs;
use crate::mail::MailWaker;
use crate::mail::transport::Mailer;
use crate::referrals::Links;
use crate::search::{self, Indexer, SearchError, SearchIndex};
use crate::telemetry::{self, Metrics};
use crate::web::TrustedProxies;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Agencies(#[from] AgencyConfigError),
    #[error("écoute sur {address} impossible : {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("métriques : {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("la préparation a été interrompue")]
    Interrupted,
    #[error("courriel : {0}")]
    Mail(String),
    #[error("connexion par fournisseur d'identité : {0}")]
    Sso(String),
}

pub struct Application {
    port: u16,
    server: Server,
    database: Database,
    search: SearchIndex,
    indexer: Indexer,
}

impl Application {
    /// Prepares the database and folders, then binds the listener (port 0
    /// picks a free port, which tests rely on).
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Application::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// The same, with another clock (tests move time forward).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        Mailer::from_settings(&settings.mail).map_err(StartupError::Mail)?;
        let database = prepare(&settings).await?;
        let agency_codes = database
            .run(agencies::list)
            .await?
            .into_iter()
            .map(|a| a.code)
            .collect();
        let (search, indexer) = {
            let path = settings.index.path.clone();
            let database = database.clone();
            let poll = Duration::from_millis(settings.index.poll_interval_ms.get().into());
            tokio::task::spawn_blocking(move || search::index::start(&path, database, poll))
                .await
                .map_err(|_| StartupError::Interrupted)??
        };
        let address = settings.server.address;
        let listener = TcpListener::bind(address).map_err(|source| StartupError::Listen {
            address: address.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Listen {
                address: address.to_string(),
                source,
            })?
            .port();
        let metrics = web::Data::new(Metrics::new()?);
        let app_database = web::Data::new(database.clone());
        let board = web::Data::new(Board::new(database.clone()));
        let app_search = web::Data::new(search.clone());
        let waker = web::Data::new(indexer.waker());
        let agency_codes = web::Data::new(AgencyCodes(agency_codes));
        // Port 0 picked a port: links in mails, the jobs' ones too, need it.
        let mut settings = settings;
        settings.server.address.set_port(port);
        if settings.server.public_url.is_empty() && address.ip().is_unspecified() {
            tracing::warn!(
                address = %settings.server.address,
                "server.public_url is empty while listening on every interface: \
                 links in mails will name this address; set server.public_url"
            );
        }
        let links = web::Data::new(Links {
            base_url: settings.server.base_url(),
            validity_days: i64::from(settings.referrals.link_validity_days.get()),
        });
        let sso =
            Provider::from_settings(&settings.sso, &links.base_url).map_err(StartupError::Sso)?;
        let sso = web::Data::new(sso);
        let mail_waker = MailWaker::default();
        jobs::schedule(
            database.clone(),
            settings.clone(),
            clock.clone(),
            mail_waker.clone(),
        );
        let mail_waker = web::Data::new(mail_waker);
        let clock: web::Data<dyn Clock> = web::Data::from(clock);
        let session_settings = web::Data::new(settings.sessions.clone());
        let referral_settings = web::Data::new(settings.referrals.clone());
        let account_settings = web::Data::new(settings.accounts.clone());
        let trusted_proxies =
            web::Data::new(TrustedProxies(settings.server.trusted_proxies.clone()));
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::web::show_announcements))
                .wrap(from_fn(telemetry::observe))
                .app_data(app_database.clone())
                .app_data(app_search.clone())
                .app_data(waker.clone())
                .app_data(agency_codes.clone())
                .app_data(clock.clone())
                .app_data(session_settings.clone())
                .app_data(referral_settings.clone())
                .app_data(account_settings.clone())
                .app_data(trusted_proxies.clone())
                .app_data(metrics.clone())
                .app_data(mail_waker.clone())
                .app_data(links.clone())
                .app_data(sso.clone())
                .app_data(board.clone())
                .configure(crate::api::routes)
                .configure(crate::web::routes)
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        // The binary handles signals itself (cli): actix would stop at once on SIGINT.
        .disable_signals();
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Listen {
                address: address.to_string(),
                source,
            })?
            .run();
        tracing::info!(port, backend = ?database.backend(), mail_transport = ?settings.mail.transport, "relais started");
        Ok(Application {
            port,
            server,
            database,
            search,
            indexer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Stops the server; `stop(true)` lets requests in flight finish.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn search(&self) -> &SearchIndex {
        &self.search
    }

    /// Serves until stopped through `handle()`, then stops the indexer
    /// (which releases the index for the next process).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let indexer = self.indexer;
        let _ = tokio::task::spawn_blocking(move || indexer.stop()).await;
        served
    }
}

/// Opens (and migrates) the database and brings the agencies table up to
/// date with the configuration.
pub async fn prepare(settings: &Settings) -> Result<Database, StartupError> {
    let configured = agencies::load(&settings.agencies)?;
    let database_settings = settings.database.clone();
    let database = tokio::task::spawn_blocking(move || Database::open(&database_settings))
        .await
        .map_err(|_| StartupError::Interrupted)??;
    let inserted = database
        .run(move |conn| agencies::upsert_all(conn, &configured))
        .await?;
    tracing::info!(agencies_inserted = inserted, "agencies synchronised");
    let lowered = database
        .run(crate::accounts::lower_stored_addresses)
        .await?;
    if lowered > 0 {
        tracing::info!(addresses_lowered = lowered, "account addresses lowered");
    }
    Ok(database)
}
