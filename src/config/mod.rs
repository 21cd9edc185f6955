//! Layered configuration: embedded defaults → `config/$RELAIS_ENV.toml` →
//! `--config FILE` → `RELAIS__SECTION__KEY` environment variables.
//!
//! The defaults file is the only place defaults are written: every field below
//! is required and unknown keys are refused, so the file and this code cannot
//! drift apart without the embedded defaults failing to load.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

mod reasons;

use figment::providers::{Env, Format, Toml};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

const ENV_PREFIX: &str = "RELAIS__";
const ENV_SEPARATOR: &str = "__";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub sessions: SessionSettings,
    pub database: DatabaseSettings,
    pub index: IndexSettings,
    pub mail: MailSettings,
    pub accounts: AccountSettings,
    pub log: LogSettings,
    pub agencies: AgenciesSettings,
    pub referrals: ReferralSettings,
    pub sso: SsoSettings,
    pub sync: SyncSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub address: SocketAddr,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// Base of the links written in mails; empty: `http://` + the bound address.
    pub public_url: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client: the
    /// address throttling, the audit trail and shared-login detection use.
    pub trusted_proxies: Vec<IpAddr>,
}

impl ServerSettings {
    /// Where people reach relais, for links in mails: `public_url`, or
    /// `http://` and the address (the server sets the port it bound).
    pub fn base_url(&self) -> String {
        match self.public_url.trim_end_matches('/') {
            "" => format!("http://{}", self.address),
            public => public.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub idle_timeout_minutes: NonZeroU32,
    pub absolute_lifetime_hours: NonZeroU32,
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: NonZeroU32,
    pub connect_timeout_secs: NonZeroU32,
    pub sqlite_busy_timeout_ms: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSettings {
    pub path: PathBuf,
    pub poll_interval_ms: NonZeroU32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub file_dir: PathBuf,
    pub from: String,
    pub delivery_interval_secs: u64,
    pub max_attempts: NonZeroU32,
    pub retry_base_secs: NonZeroU32,
    pub retry_max_secs: NonZeroU32,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text: accepted only towards a server on this machine.
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    #[serde(skip_serializing)]
    pub password: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralSettings {
    pub link_validity_days: NonZeroU32,
    /// Months a candidate's personal data is kept after the last request
    /// made for them (never 0: that would erase them as they are entered).
    pub retention_months: NonZeroU32,
    /// Hours between two runs of the retention job in the server; 0: only
    /// from the command line.
    pub retention_check_hours: u64,
}

/// Single sign-on through an OpenID Connect provider; off when `issuer_url`
/// is empty.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    pub issuer_url: String,
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: String,
    pub display_name: String,
    pub timeout_secs: u64,
}

/// The upstream sync with France Travail's "Offres d'emploi v2" API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// 0: only `relais sync` / `relais jobs run sync-offers`.
    pub interval_minutes: u64,
    /// Base URL; the search path is appended.
    pub api_url: String,
    pub token_url: String,
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: String,
    /// Space-separated, as OAuth2 writes them.
    pub scopes: String,
    pub departements: Vec<String>,
    pub requests_per_second: NonZeroU32,
    pub max_retries: u32,
    pub retry_base_ms: u64,
    pub timeout_secs: u64,
    /// Agency code → INSEE commune codes or code prefixes it manages.
    pub agencies: BTreeMap<String, Vec<String>>,
}

impl SyncSettings {
    /// Whether credentials are given: without them there is nothing to run.
    pub fn is_configured(&self) -> bool {
        !self.client_id.trim().is_empty() && !self.client_secret.trim().is_empty()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// Never 0: every account would be suspended at the next run.
    pub inactivity_days: NonZeroU32,
    /// Fewer than `inactivity_days` (see `Settings::check`).
    pub warning_days: u32,
    pub inactivity_check_hours: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgenciesSettings {
    /// Empty: the reference agencies compiled into the binary.
    pub file: PathBuf,
}

/// Where the layers come from. `Sources::from_process` reads the real
/// environment; tests build their own.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Folder holding `$RELAIS_ENV.toml` (normally `config`).
    pub config_dir: PathBuf,
    /// Value of `RELAIS_ENV`.
    pub environment: Option<String>,
    /// The `--config FILE` argument.
    pub file: Option<PathBuf>,
}

impl Sources {
    pub fn from_process(file: Option<PathBuf>) -> Self {
        Sources {
            config_dir: PathBuf::from("config"),
            environment: std::env::var("RELAIS_ENV").ok().filter(|e| !e.is_empty()),
            file,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("le fichier de configuration {0} est introuvable")]
    MissingFile(PathBuf),
    #[error("configuration invalide :\n{0}")]
    Invalid(String),
}

impl Settings {
    /// Merges every layer and checks each key.
    pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new().merge(Named {
            name: "valeurs par défaut intégrées (config/default.toml)",
            inner: Toml::string(DEFAULT_TOML),
        });
        if let Some(env) = &sources.environment {
            let path = sources.config_dir.join(format!("{env}.toml"));
            if path.is_file() {
                figment = figment.merge(Toml::file_exact(path));
            }
        }
        if let Some(path) = &sources.file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.clone()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split(ENV_SEPARATOR));
        let settings = figment
            .extract::<Settings>()
            .map_err(|error| ConfigError::Invalid(describe(error)))?;
        settings.check(&figment)?;
        Ok(settings)
    }

    /// The rules between keys, which each key's type cannot say.
    fn check(&self, figment: &Figment) -> Result<(), ConfigError> {
        let AccountSettings {
            inactivity_days,
            warning_days,
            ..
        } = self.accounts;
        // Warned that long before, an account would be warned as soon as used.
        if warning_days >= inactivity_days.get() {
            let path = ["accounts".to_owned(), "warning_days".to_owned()];
            return Err(ConfigError::Invalid(problem(
                &path,
                figment.find_metadata(&path.join(".")),
                &format!(
                    "valeur {warning_days} refusée, attendu : moins que `accounts.inactivity_days` ({inactivity_days})"
                ),
            )));
        }
        Ok(())
    }

    /// The settings as TOML, secrets left out (`skip_serializing`) or
    /// hidden: `relais config` is read on screens and pasted into support
    /// requests.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = without_password(&shown.database.url);
        toml::to_string(&shown).unwrap_or_else(|e| format!("# impossible d'afficher : {e}"))
    }
}

/// A database URL as it may be shown: a password in it (`postgres://relais:
/// secret@host/db`) hidden; a SQLite path as it is.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The credentials end at the last « @ » before the host's path.
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    match authority.rsplit_once('@') {
        Some((credentials, _)) => match credentials.split_once(':') {
            Some((user, _)) => {
                let after = &rest[credentials.len()..];
                format!("{scheme}://{user}:********{after}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// One line per problem, naming the key and the layer it came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| problem(&e.path, e.metadata.as_ref(), &reasons::french(&e.kind)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line of the message: the key (if the problem has one), where its
/// value came from, and why it was refused.
fn problem(path: &[String], metadata: Option<&Metadata>, reason: &str) -> String {
    let key = if path.is_empty() {
        String::new()
    } else {
        // A list's element by its position: `server.trusted_proxies[0]`.
        let written = path.iter().fold(String::new(), |mut key, part| {
            if is_position(part) {
                key.push_str(&format!("[{part}]"));
            } else {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(part);
            }
            key
        });
        format!("clé `{written}` ")
    };
    let origin = metadata
        .map(|md| origin(md, path))
        .unwrap_or_else(|| "source inconnue".to_owned());
    format!("  - {key}({origin}) : {reason}")
}

fn is_position(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

fn origin(metadata: &Metadata, path: &[String]) -> String {
    if metadata.name.contains("environment") {
        // The variable gives the whole list, not one element.
        let variable = path
            .iter()
            .filter(|k| !is_position(k))
            .map(|k| k.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(ENV_SEPARATOR);
        return format!("variable d'environnement {ENV_PREFIX}{variable}");
    }
    match &metadata.source {
        Some(figment::Source::File(file)) => format!("fichier {}", file.display()),
        _ => metadata.name.to_string(),
    }
}

/// A provider under another name, so that messages say where a value came from.
struct Named<P> {
    name: &'static str,
    inner: P,
}

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }

    fn data(&self) -> Result<figment::value::Map<Profile, figment::value::Dict>, figment::Error> {
        self.inner.data()
    }
}

/// Creates the parent folder of a file path if it is missing.
pub fn ensure_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_settings_hide_their_secrets() {
        for (url, shown) in [
            (
                "postgres://relais:s3cr@t@db.example:5432/relais",
                "postgres://relais:********@db.example:5432/relais",
            ),
            (
                "postgres://relais@db.example/relais",
                "postgres://relais@db.example/relais",
            ),
            (
                "postgres://db.example/relais?user=a",
                "postgres://db.example/relais?user=a",
            ),
            ("data/relais.db", "data/relais.db"),
        ] {
            assert_eq!(without_password(url), shown, "{url}");
        }
        let mut settings = Settings::load(&Sources::default()).expect("defaults load");
        settings.database.url = "postgres://relais:motdepasse@db.example/relais".into();
        settings.mail.smtp.password = "motdepasse-smtp".into();
        settings.sso.client_secret = "secret-oidc".into();
        settings.sync.client_secret = "secret-ft".into();
        let shown = settings.to_toml();
        for secret in ["motdepasse", "secret-oidc", "secret-ft"] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
        assert!(
            shown.contains("postgres://relais:********@db.example/relais"),
            "{shown}"
        );
        assert!(
            !shown.contains("client_secret") && !shown.contains("password"),
            "{shown}"
        );
    }

    #[test]
    fn embedded_defaults_load_and_match_the_code() {
        let settings = Settings::load(&Sources::default()).expect("defaults load");
        assert_eq!(settings.server.address.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database.url, "data/relais.db");
        assert_eq!(settings.mail.transport, MailTransport::File);
    }

    #[test]
    fn every_default_key_is_documented_by_a_comment() {
        let mut previous = "";
        for line in DEFAULT_TOML.lines() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') && !line.starts_with('[') {
                assert!(
                    previous.starts_with('#'),
                    "key without a comment above it in config/default.toml: {line}"
                );
            }
            previous = line;
        }
    }
}
