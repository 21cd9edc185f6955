//! The command line: one binary, one subcommand per job.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Settings, Sources};
use crate::startup::{self, Application};
use crate::{agencies, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "relais",
    version,
    about = "relais — les offres d'emploi de France Travail pour les partenaires"
)]
pub struct Cli {
    /// Fichier de configuration, lu après config/default.toml et config/$RELAIS_ENV.toml
    /// et avant les variables RELAIS__SECTION__CLE.
    #[arg(long, global = true, value_name = "FICHIER")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sert le portail (arrêt propre sur SIGINT/SIGTERM).
    Serve,
    /// Applique les migrations de la base de données, puis s'arrête.
    Migrate,
    /// Prépare une base de démonstration et sert le portail.
    Demo,
    /// Affiche la configuration effective, après toutes les couches.
    Config,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&Sources::from_process(cli.config))?;
    if matches!(cli.command, Command::Config) {
        print!("{}", settings.to_toml());
        return Ok(());
    }
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => serve(settings, false).await,
        Command::Demo => serve(settings, true).await,
        Command::Migrate => {
            startup::prepare(&settings).await?;
            println!("Base de données à jour ({}).", settings.database.url);
            Ok(())
        }
        Command::Config => Ok(()),
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let address = settings.server.address;
    let application = Application::build(settings.clone())
        .await
        .context("démarrage impossible")?;
    let url = format!("http://{}:{}/", address.ip(), application.port());
    if demo {
        let database = application.database().clone();
        let agencies = database.run(agencies::list).await?;
        println!("relais — démonstration");
        println!("  Portail         : {url}");
        println!("  État du service : {url}healthz");
        println!(
            "  Données         : {} ({} agences du Pays d'Aix)",
            settings.database.url,
            agencies.len()
        );
        println!(
            "  Courriels       : écrits dans {}, aucun envoi réel",
            settings.mail.file_dir.display()
        );
        println!("  Connexion       : pas encore de comptes dans cette version.");
        println!("Ctrl+C pour arrêter.");
    } else {
        println!("relais écoute sur {url}");
    }
    let handle = application.handle();
    tokio::spawn(async move {
        match stop_signal().await {
            Ok(signal) => tracing::info!(signal, "stopping: finishing requests in flight"),
            Err(error) => tracing::error!(%error, "cannot listen for stop signals; stopping"),
        }
        handle.stop(true).await;
    });
    application.run_until_stopped().await?;
    Ok(())
}

/// Waits for SIGINT or SIGTERM — both stop gracefully — and says which came.
async fn stop_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    })
}
