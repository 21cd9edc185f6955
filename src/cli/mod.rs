//! The command line: one binary, one subcommand per job.

use std::path::PathBuf;

use anyhow::Context;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

use std::collections::HashSet;
use std::io::Write;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};

use crate::accounts;
use crate::apikeys::{self, Scope};
use crate::bench;
use crate::clock::{SystemClock, in_paris};
use crate::config::{Settings, Sources};
use crate::demo;
use crate::jobs;
use crate::offers::sync::{self, SyncError, agency_rule::AgencyRule, runs::RunStatus};
use crate::offers::{self, demo_data, import};
use crate::startup::{self, Application};
use crate::{agencies, search, telemetry};

/// The search key `relais demo` creates and prints.
const DEMO_KEY: &str = "demo-recherche";

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

impl Cli {
    /// The command line, read with clap's own words in French.
    pub fn parse_in_french() -> Cli {
        let mut command = french_command();
        let parsed = command
            .try_get_matches_from_mut(std::env::args_os())
            .and_then(|matches| {
                Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
            });
        parsed.unwrap_or_else(|error| match error.kind() {
            // The help and the version, asked for or shown for want of a command.
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
            _ => {
                // As clap: a closed stderr is no reason to panic.
                let _ = writeln!(std::io::stderr(), "{}", in_french_error(&error));
                std::process::exit(2)
            }
        })
    }
}

fn french_command() -> clap::Command {
    in_french(Cli::command()).disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("Affiche la version"),
    )
}

/// A refused command line in French: what is wrong, what was meant when
/// clap can tell, the usage line and where the help is (clap writes its
/// own in English).
fn in_french_error(error: &clap::Error) -> String {
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(value)) => Some(value.clone()),
        Some(ContextValue::Strings(values)) => Some(values.join(", ")),
        Some(ContextValue::StyledStr(value)) => Some(value.to_string()),
        _ => None,
    };
    let arg = context(ContextKind::InvalidArg).unwrap_or_default();
    let mut lines = vec![match error.kind() {
        ErrorKind::UnknownArgument => format!("erreur : argument inattendu : {arg}"),
        ErrorKind::InvalidSubcommand => format!(
            "erreur : commande inconnue : {}",
            context(ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::MissingRequiredArgument => format!("erreur : il manque {arg}"),
        ErrorKind::MissingSubcommand => "erreur : une commande est attendue".to_owned(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let value = context(ContextKind::InvalidValue).unwrap_or_default();
            // The arguments' parsers are numbers' (the others take any text).
            let reason = match std::error::Error::source(error) {
                Some(source) if source.is::<std::num::ParseIntError>() => {
                    " : un nombre entier est attendu".to_owned()
                }
                Some(source) => format!(" : {source}"),
                None => String::new(),
            };
            format!("erreur : valeur « {value} » refusée pour {arg}{reason}")
        }
        ErrorKind::ArgumentConflict => match context(ContextKind::PriorArg) {
            Some(prior) if prior != arg => format!("erreur : {arg} ne va pas avec {prior}"),
            _ => format!("erreur : {arg} ne se donne qu'une fois"),
        },
        _ => format!(
            "erreur : arguments incorrects {arg} {}",
            context(ContextKind::InvalidValue).unwrap_or_default()
        )
        .trim_end()
        .to_owned(),
    }];
    if let Some(valid) = context(ContextKind::ValidValue) {
        lines.push(format!("  valeurs possibles : {valid}"));
    }
    let suggested = [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand]
        .into_iter()
        .find_map(context);
    if let Some(suggested) = suggested {
        lines.push(format!("  vouliez-vous dire {suggested} ?"));
    }
    if let Some(usage) = context(ContextKind::Usage) {
        let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage).to_owned();
        lines.push(format!("\nUtilisation : {usage}"));
    }
    lines.push("\nPour en savoir plus : --help".to_owned());
    lines.join("\n")
}

/// The help flag, the headings and the usage line in French, at every level.
fn in_french(command: clap::Command) -> clap::Command {
    command
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        // Each argument's help says its values in French.
        .hide_possible_values(true)
        .help_template("{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}")
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Affiche cette aide"),
        )
        .mut_args(default_in_french)
        .mut_subcommands(in_french)
}

/// An argument's default said after its help, in French, instead of clap's
/// « [default: …] ».
fn default_in_french(arg: Arg) -> Arg {
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    if defaults.is_empty() || arg.is_hide_default_value_set() || !arg.get_action().takes_values() {
        return arg;
    }
    let said = format!("(par défaut : {})", defaults.join(", "));
    let help = arg.get_help().map(|help| format!("{help} {said}"));
    let long_help = arg.get_long_help().map(|help| format!("{help} {said}"));
    let arg = arg.hide_default_value(true).help(help.unwrap_or(said));
    match long_help {
        Some(long_help) => arg.long_help(long_help),
        None => arg,
    }
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
    /// Gère les clés d'API des programmes (système source, clients de recherche).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Importe des offres : pages de l'API France Travail ({"resultats": […]}) ou lignes JSON.
    Import {
        /// Un ou plusieurs fichiers, lus dans l'ordre.
        #[arg(required = true, value_name = "FICHIER")]
        files: Vec<PathBuf>,
    },
    /// Reconstruit l'index de recherche à partir de la base (serveur arrêté).
    Reindex,
    /// Synchronise les offres avec l'API « Offres d'emploi v2 » de France Travail (section [sync]).
    Sync,
    /// Tâches planifiées, lancées une fois : suspend-inactive, deliver-mail, sync-offers, anonymise-candidates.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Administrateurs de la plateforme (agents de France Travail).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Mesure la recherche de relais face à PostgreSQL FTS et SQLite FTS5 (même corpus,
    /// mêmes requêtes) et écrit un rapport Markdown et son graphique.
    Bench {
        /// Nombre d'offres du corpus généré (1000000 pour la grande mesure).
        #[arg(long, default_value_t = 100_000)]
        offers: usize,
        /// Graine : la même graine donne le même corpus et les mêmes requêtes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Requêtes par classe.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Nombre de requêtes par classe soumises aussi à PostgreSQL FTS et SQLite FTS5 :
        /// au moins les N premières de chaque classe (toutes par défaut). À 1 000 000
        /// d'offres, ils mettent des secondes par requête : un échantillon abrège la mesure
        /// de plusieurs heures.
        #[arg(long, value_name = "N")]
        peer_queries: Option<usize>,
        /// Au-delà des --peer-queries premières, les requêtes suivantes d'une classe, tant
        /// que la passe non chronométrée de PostgreSQL FTS sur cette classe a duré moins de
        /// ce nombre de secondes (0 : aucune) ; une classe rapide est ainsi comparée en entier.
        #[arg(long, value_name = "S", default_value_t = 0)]
        peer_secs: u64,
        /// Serveur PostgreSQL où créer (puis supprimer) les bases de la mesure.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres: String,
        /// Dossier du rapport (report.md, chart.svg).
        #[arg(long, default_value = "tests/benchmarks")]
        out: PathBuf,
        /// Dossier de travail (bases et index de la mesure), vidé au départ.
        #[arg(long, default_value = "data/bench")]
        work: PathBuf,
        /// Durée de chaque passe de l'outil de charge (oha) sur l'API ; 0 : pas de mesure HTTP.
        #[arg(long, default_value_t = 10)]
        http_secs: u64,
        /// Durée de la mesure de fraîcheur (50 modifications par seconde).
        #[arg(long, default_value_t = 20)]
        freshness_secs: u64,
        /// Échoue si les systèmes ne s'accordent pas sans mots-clés ou si relais
        /// n'est pas devant sur les mots-clés (pour la CI, à petite taille).
        #[arg(long)]
        check: bool,
    },
    /// Écrit sur la sortie standard des offres de démonstration, en lignes JSON.
    DemoData {
        /// Nombre d'offres.
        #[arg(long, default_value_t = demo::DEMO_OFFERS)]
        offers: usize,
        /// Graine : la même graine donne les mêmes offres.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
enum JobsAction {
    /// Lance une tâche une fois.
    Run {
        /// Le nom de la tâche (relais jobs --help les liste).
        #[arg(value_parser = jobs::JOB_NAMES, value_name = "TÂCHE")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Crée un administrateur et affiche son identifiant et un mot de passe à usage unique.
    Create {
        /// Prénom et nom.
        #[arg(long)]
        name: String,
        /// Adresse électronique professionnelle.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Crée une clé et l'affiche, une seule fois.
    Create {
        /// Le nom de la clé, qui dit à quel programme elle sert (ex. site-plie).
        #[arg(long, value_name = "NOM")]
        name: String,
        /// ingest (système source des offres) ou search (recherche).
        #[arg(long, value_parser = ["ingest", "search"])]
        scope: String,
    },
    /// Liste les clés (jamais leur secret).
    List,
    /// Révoque la clé active de ce nom.
    Revoke {
        /// Le nom de la clé.
        #[arg(value_name = "NOM")]
        name: String,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&Sources::from_process(cli.config))?;
    if matches!(cli.command, Command::Config) {
        print!("{}", settings.to_toml());
        return Ok(());
    }
    if let Command::DemoData { offers, seed } = cli.command {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        demo_data::write_offers(&mut out, offers, seed, demo::anchor())?;
        out.flush()?;
        return Ok(());
    }
    let mut log = settings.log.clone();
    if matches!(cli.command, Command::Bench { .. }) {
        // The peers' HTTP servers run in the bench's process: their start
        // and stop would be logged among the bench's progress lines.
        log.level = format!("{},actix_server=warn", log.level);
    }
    telemetry::init(&log);
    match cli.command {
        Command::Serve => serve(settings, None).await,
        Command::Demo => {
            let logins = load_demo(&settings).await?;
            serve(settings, Some(logins)).await
        }
        Command::Migrate => {
            startup::prepare(&settings).await?;
            println!(
                "Base de données à jour ({}).",
                crate::config::without_password(&settings.database.url)
            );
            Ok(())
        }
        Command::ApiKey { action } => api_key(&settings, action).await,
        Command::Import { files } => import(&settings, files).await,
        Command::Reindex => reindex(&settings).await,
        Command::Bench {
            offers,
            seed,
            queries,
            peer_queries,
            peer_secs,
            postgres,
            out,
            work,
            http_secs,
            freshness_secs,
            check,
        } => {
            let options = bench::Options {
                offers,
                seed,
                queries_per_class: queries,
                peer_queries_per_class: peer_queries.unwrap_or(queries),
                peer_budget_per_class: std::time::Duration::from_secs(peer_secs),
                postgres_url: postgres,
                work_dir: work,
                http_seconds: http_secs,
                freshness_seconds: freshness_secs,
            };
            run_bench(options, out, check).await
        }
        Command::Sync => sync_offers(settings).await,
        Command::Jobs {
            action: JobsAction::Run { name },
        } => {
            let database = startup::prepare(&settings).await?;
            let summary = tokio::task::spawn_blocking(move || {
                jobs::run_once(&name, &database, &settings, &SystemClock)
            })
            .await??;
            println!("{summary}");
            Ok(())
        }
        Command::Admin {
            action: AdminAction::Create { name, email },
        } => {
            let person = accounts::Person::parse(&name, "Administrateur de la plateforme", &email)?;
            let database = startup::prepare(&settings).await?;
            let (_, credentials) = database
                .run(move |conn| {
                    accounts::create_account(
                        conn,
                        Utc::now().naive_utc(),
                        None,
                        None,
                        accounts::Role::Admin,
                        &person,
                    )
                })
                .await?;
            println!("Administrateur créé.");
            println!("  Identifiant  : {}", credentials.login);
            println!(
                "  Mot de passe : {} (à changer à la première connexion)",
                credentials.password
            );
            Ok(())
        }
        Command::Config | Command::DemoData { .. } => Ok(()),
    }
}

/// Loads the demo data set; returns the demo people's fresh logins.
async fn load_demo(settings: &Settings) -> anyhow::Result<Vec<demo::DemoLogin>> {
    let database = startup::prepare(settings).await?;
    tokio::task::spawn_blocking(move || {
        let mut conn = database.bulk_connection()?;
        let codes = agency_codes(&mut conn)?;
        demo::load_offers(&mut conn, &codes)?;
        Ok(demo::load_people(&mut conn)?)
    })
    .await?
}

async fn api_key(settings: &Settings, action: ApiKeyAction) -> anyhow::Result<()> {
    let database = startup::prepare(settings).await?;
    let mut conn = database.connection()?;
    let now = Utc::now().naive_utc();
    match action {
        ApiKeyAction::Create { name, scope } => {
            let scope = Scope::parse(&scope).context("portée inconnue")?;
            let secret = apikeys::create(&mut conn, &name, scope, now)?;
            println!(
                "Clé « {name} » (portée {}) créée. Notez-la, elle ne sera plus affichée :",
                scope.as_str()
            );
            println!("{secret}");
        }
        ApiKeyAction::List => {
            let keys = apikeys::list(&mut conn)?;
            if keys.is_empty() {
                println!("Aucune clé d'API.");
            }
            for key in keys {
                let state = match key.revoked_at {
                    Some(at) => format!("révoquée le {}", in_paris(at).format("%d/%m/%Y %H:%M")),
                    None => "active".to_owned(),
                };
                println!(
                    "{:<24} {:<7} créée le {}  {state}",
                    key.name,
                    key.scope,
                    in_paris(key.created_at).format("%d/%m/%Y %H:%M")
                );
            }
        }
        ApiKeyAction::Revoke { name } => {
            if apikeys::revoke(&mut conn, &name, now)? {
                println!("Clé « {name} » révoquée.");
            } else {
                anyhow::bail!("aucune clé active ne porte le nom « {name} »");
            }
        }
    }
    Ok(())
}

fn agency_codes(conn: &mut crate::db::DbConnection) -> anyhow::Result<HashSet<String>> {
    Ok(agencies::list(conn)?.into_iter().map(|a| a.code).collect())
}

async fn import(settings: &Settings, files: Vec<PathBuf>) -> anyhow::Result<()> {
    let database = startup::prepare(settings).await?;
    let communes = settings.sync.agencies.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = database.bulk_connection()?;
        let codes = agency_codes(&mut conn)?;
        let rule = AgencyRule::parse(&communes, &codes).map_err(anyhow::Error::msg)?;
        let mut rejected = 0;
        for path in files {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let bar = ProgressBar::new(size).with_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(path.display().to_string());
            let report = import::import_file(
                &mut conn,
                &codes,
                &rule,
                &path,
                Utc::now().naive_utc(),
                &|read| bar.set_position(read),
            )?;
            bar.finish_and_clear();
            println!(
                "{} : {} créée(s), {} modifiée(s), {} inchangée(s), {} rejetée(s)",
                path.display(),
                report.created,
                report.updated,
                report.unchanged,
                report.rejected.len()
            );
            for rejection in &report.rejected {
                println!("  rejetée, {} : {}", rejection.place, rejection.reason);
            }
            rejected += report.rejected.len();
        }
        if rejected > 0 {
            println!("{rejected} offre(s) rejetée(s) ; les autres sont importées.");
        }
        println!("Un serveur relais en marche les rend cherchables dans la seconde.");
        anyhow::Ok(())
    })
    .await?
}

async fn sync_offers(settings: Settings) -> anyhow::Result<()> {
    // Said before anything is created: there is nothing to run.
    if !settings.sync.is_configured() {
        return Err(SyncError::NotConfigured.into());
    }
    let database = startup::prepare(&settings).await?;
    tokio::task::spawn_blocking(move || {
        let _turn = jobs::take_turn(&database, "sync-offers")?;
        let mut conn = database.connection()?;
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("France Travail [{bar:30}] {pos}/{len} pages ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let report = sync::run(&mut conn, &settings.sync, &SystemClock, &|progress| {
            bar.set_length(progress.pages_known);
            bar.set_position(progress.pages_done);
        })?;
        bar.finish_and_clear();
        println!("{}", report.summary());
        match report.status {
            RunStatus::Failed => anyhow::bail!("la synchronisation a échoué"),
            _ => anyhow::Ok(()),
        }
    })
    .await?
}

async fn reindex(settings: &Settings) -> anyhow::Result<()> {
    let database = startup::prepare(settings).await?;
    let path = settings.index.path.clone();
    tokio::task::spawn_blocking(move || {
        let total = offers::store::count(&mut *database.connection()?)?;
        let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0)).with_style(
            ProgressStyle::with_template("Index [{bar:30}] {pos}/{len} offres ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let sequence = search::index::rebuild(&path, &database, &|n| bar.inc(n as u64))?;
        bar.finish_and_clear();
        println!("Index reconstruit : {total} offres lues, jusqu'au changement n°{sequence}.");
        anyhow::Ok(())
    })
    .await?
}

async fn run_bench(options: bench::Options, out: PathBuf, check: bool) -> anyhow::Result<()> {
    let report =
        tokio::task::spawn_blocking(move || bench::run(&options, &|step| eprintln!("• {step}")))
            .await??;
    std::fs::create_dir_all(&out)?;
    let date = Utc::now().format("%Y-%m-%d").to_string();
    std::fs::write(out.join("report.md"), report.markdown(&date, &machine()))?;
    std::fs::write(out.join("chart.svg"), report.chart_svg())?;
    println!("Rapport : {}", out.join("report.md").display());
    for class in bench::workload::QueryClass::ALL {
        let speedups: Vec<String> = report
            .speedups(class)
            .into_iter()
            .map(|(peer, speedup)| format!("{peer} {}", bench::report::times(speedup)))
            .collect();
        println!("  {:<34} {}", class.label(), speedups.join(", "));
    }
    let failures = report.check();
    if check && !failures.is_empty() {
        anyhow::bail!("la mesure ne tient pas :\n  {}", failures.join("\n  "));
    }
    Ok(())
}

/// "2 cœurs (CPU model), 24 Gio" for the report.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "processeur inconnu".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kb: f64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.0} GiB", kb / 1_048_576.0))
        })
        .unwrap_or_else(|| "mémoire inconnue".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu}), {memory}")
}

async fn serve(settings: Settings, demo: Option<Vec<demo::DemoLogin>>) -> anyhow::Result<()> {
    let address = settings.server.address;
    let application = Application::build(settings.clone())
        .await
        .context("démarrage impossible")?;
    let url = format!("http://{}:{}/", address.ip(), application.port());
    if let Some(logins) = demo {
        let database = application.database().clone();
        let agencies = database.run(agencies::list).await?;
        let (offers, key) = database
            .run(|conn| {
                let now = Utc::now().naive_utc();
                // A fresh search key at every start: a secret is shown only once.
                apikeys::revoke(conn, DEMO_KEY, now)?;
                let key = apikeys::create(conn, DEMO_KEY, Scope::Search, now)?;
                anyhow::Ok((offers::store::count(conn)?, key))
            })
            .await?;
        println!("relais — démonstration");
        println!("  Portail         : {url}");
        println!("  État du service : {url}healthz");
        println!(
            "  Données         : {} ({} agences du Pays d'Aix)",
            crate::config::without_password(&settings.database.url),
            agencies.len()
        );
        println!(
            "  Courriels       : écrits dans {}, aucun envoi réel",
            settings.mail.file_dir.display()
        );
        println!("  Offres          : {offers}, cherchables dès que {url}readyz répond 200");
        println!("  Recherche (API) : curl -H 'Authorization: Bearer {key}' \\");
        println!(
            "                    '{url}api/v1/offres/search?motsCles=vendeur&commune=13001&distance=20'"
        );
        println!(
            "  Connexion       : {url}connexion (mot de passe à changer à la première connexion)"
        );
        for person in &logins {
            println!(
                "    {:<16} {:<10} {}",
                person.role, person.login, person.password
            );
        }
        println!(
            "  Parcours        : en accompagnateur, cherchez sur {url}offres, positionnez un candidat \
             et imprimez la fiche ; pour une offre avec présélection, la demande de contact arrive \
             dans {} (fichier .eml) : son lien ouvre la page où l'agence répond.",
            settings.mail.file_dir.display()
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The jobs' help lists them by hand: every job is there, and clap
    /// accepts the French help at every level (its checks run in debug).
    #[test]
    fn the_jobs_help_names_every_job() {
        let command = french_command();
        command.clone().debug_assert();
        let about = command
            .find_subcommand("jobs")
            .and_then(|jobs| jobs.get_about())
            .map(|about| about.to_string())
            .unwrap_or_default();
        for name in jobs::JOB_NAMES {
            assert!(about.contains(name), "{name}: {about}");
        }
    }

    #[test]
    fn refusals_and_defaults_are_said_in_french() {
        let refusal = |args: &[&str]| {
            let error = french_command().try_get_matches_from(args).unwrap_err();
            in_french_error(&error)
        };
        let said = refusal(&["relais", "serve", "--nope"]);
        assert!(
            said.starts_with("erreur : argument inattendu : --nope"),
            "{said}"
        );
        assert!(
            said.contains("Utilisation : relais serve [OPTIONS]"),
            "{said}"
        );
        assert!(said.ends_with("Pour en savoir plus : --help"), "{said}");
        let said = refusal(&["relais", "servee"]);
        assert!(
            said.contains("commande inconnue : servee")
                && said.contains("vouliez-vous dire serve ?"),
            "{said}"
        );
        let said = refusal(&["relais", "import"]);
        assert!(said.starts_with("erreur : il manque <FICHIER>"), "{said}");
        let said = refusal(&["relais", "bench", "--offers", "beaucoup"]);
        assert!(
            said.starts_with(
                "erreur : valeur « beaucoup » refusée pour --offers <OFFERS> : \
                 un nombre entier est attendu"
            ),
            "{said}"
        );
        let said = refusal(&["relais", "bench", "--offers", "1", "--offers", "2"]);
        assert!(
            said.starts_with("erreur : --offers <OFFERS> ne se donne qu'une fois"),
            "{said}"
        );
        for said in [
            refusal(&["relais", "serve", "--nope"]),
            refusal(&["relais", "servee"]),
        ] {
            assert!(
                !said.contains("error") && !said.contains("Usage") && !said.contains("tip"),
                "{said}"
            );
        }

        let mut command = french_command();
        let bench = command.find_subcommand_mut("bench").unwrap();
        let help = bench.render_long_help().to_string();
        assert!(help.contains("(par défaut : 100000)"), "{help}");
        assert!(!help.contains("[default"), "{help}");
    }
}
