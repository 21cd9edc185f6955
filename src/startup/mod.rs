//! Building and running the application: the library's entry point, used by
//! the binary and by the integration tests alike.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::agencies::{self, AgencyConfigError};
use crate::config::Settings;
use crate::db::{Database, DbError};
use crate::telemetry::{self, Metrics};

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
    #[error("dossier de l'index {path} : {source}")]
    IndexFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("métriques : {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("la préparation a été interrompue")]
    Interrupted,
}

pub struct Application {
    port: u16,
    server: Server,
    database: Database,
}

impl Application {
    /// Prepares the database and folders, then binds the listener (port 0
    /// picks a free port, which tests rely on).
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let database = prepare(&settings).await?;
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
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(telemetry::observe))
                .app_data(app_database.clone())
                .app_data(metrics.clone())
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

    /// Serves until stopped through `handle()`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Opens (and migrates) the database, brings the agencies table up to date
/// with the configuration, and creates the index folder.
pub async fn prepare(settings: &Settings) -> Result<Database, StartupError> {
    let configured = agencies::load(&settings.agencies)?;
    let index_path = settings.index.path.clone();
    std::fs::create_dir_all(&index_path).map_err(|source| StartupError::IndexFolder {
        path: index_path.display().to_string(),
        source,
    })?;
    let database_settings = settings.database.clone();
    let database = tokio::task::spawn_blocking(move || Database::open(&database_settings))
        .await
        .map_err(|_| StartupError::Interrupted)??;
    let inserted = database
        .run(move |conn| agencies::upsert_all(conn, &configured))
        .await?;
    tracing::info!(agencies_inserted = inserted, "agencies synchronised");
    Ok(database)
}
