//! The configuration layers, through the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};

use crate::helpers::{free_port, relais_binary};

fn run(dir: &tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = relais_binary();
    command.current_dir(dir.path()).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn effective(output: &Output) -> toml::Table {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    toml::from_str(&String::from_utf8_lossy(&output.stdout)).unwrap()
}

#[test]
fn layers_apply_in_order_defaults_environment_file_then_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/recette.toml"),
        "[log]\nlevel = \"debug\"\n[index]\npath = \"index-recette\"\n[database]\npool_size = 2\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("local.toml"),
        "[index]\npath = \"index-local\"\n[database]\npool_size = 3\n",
    )
    .unwrap();

    let defaults = effective(&run(&dir, &["config"], &[]));
    assert_eq!(
        defaults["server"]["address"].as_str(),
        Some("127.0.0.1:8080")
    );
    assert_eq!(defaults["log"]["level"].as_str(), Some("info"));

    let layered = effective(&run(
        &dir,
        &["--config", "local.toml", "config"],
        &[
            ("RELAIS_ENV", "recette"),
            ("RELAIS__DATABASE__POOL_SIZE", "5"),
        ],
    ));
    assert_eq!(
        layered["log"]["level"].as_str(),
        Some("debug"),
        "from config/recette.toml"
    );
    assert_eq!(
        layered["index"]["path"].as_str(),
        Some("index-local"),
        "--config wins over RELAIS_ENV"
    );
    assert_eq!(
        layered["database"]["pool_size"].as_integer(),
        Some(5),
        "variables win over files"
    );
    assert_eq!(
        layered["server"]["address"].as_str(),
        Some("127.0.0.1:8080"),
        "untouched keys keep their default"
    );
}

#[test]
fn an_unknown_key_stops_relais_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("faute.toml"),
        "[server]\nadress = \"127.0.0.1:9000\"\n",
    )
    .unwrap();
    let output = run(&dir, &["--config", "faute.toml", "migrate"], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`server.adress`"), "{stderr}");
    assert!(stderr.contains("faute.toml"), "{stderr}");
    assert!(
        stderr.contains("clé inconnue, clés possibles ici : `address`"),
        "{stderr}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn a_bad_value_stops_relais_naming_the_variable() {
    refused(
        "serve",
        ("RELAIS__SERVER__ADDRESS", "quelque-part"),
        "server.address",
        "adresse invalide, attendu : adresse IP et port",
    );
    refused(
        "config",
        ("RELAIS__MAIL__TRANSPORT", "pigeon"),
        "mail.transport",
        "valeur « pigeon » inconnue, valeurs possibles : `file`, `smtp`",
    );
    refused(
        "config",
        ("RELAIS__SERVER__WORKERS", "beaucoup"),
        "server.workers",
        "valeur « beaucoup » refusée, attendu : un entier positif ou nul",
    );
}

#[test]
fn a_retention_of_zero_months_is_refused() {
    refused(
        "config",
        ("RELAIS__REFERRALS__RETENTION_MONTHS", "0"),
        "referrals.retention_months",
        "valeur 0 refusée, attendu : un entier supérieur à 0",
    );
}

#[test]
fn periods_of_zero_and_a_warning_after_the_suspension_are_refused() {
    refused(
        "config",
        ("RELAIS__ACCOUNTS__INACTIVITY_DAYS", "0"),
        "accounts.inactivity_days",
        "valeur 0 refusée, attendu : un entier supérieur à 0",
    );
    refused(
        "config",
        ("RELAIS__SESSIONS__IDLE_TIMEOUT_MINUTES", "-5"),
        "sessions.idle_timeout_minutes",
        "valeur -5 refusée, attendu : un entier supérieur à 0",
    );
    // Zero would make the pool panic, and the indexer poll without a pause.
    refused(
        "config",
        ("RELAIS__DATABASE__CONNECT_TIMEOUT_SECS", "0"),
        "database.connect_timeout_secs",
        "valeur 0 refusée, attendu : un entier supérieur à 0",
    );
    refused(
        "config",
        ("RELAIS__INDEX__POLL_INTERVAL_MS", "0"),
        "index.poll_interval_ms",
        "valeur 0 refusée, attendu : un entier supérieur à 0",
    );
    refused(
        "config",
        (
            "RELAIS__SERVER__TRUSTED_PROXIES",
            "[\"10.0.0.10\", \"un-proxy\"]",
        ),
        "server.trusted_proxies[1]",
        "adresse IP invalide, attendu : une adresse IPv4 ou IPv6",
    );
    refused(
        "config",
        ("RELAIS__ACCOUNTS__WARNING_DAYS", "90"),
        "accounts.warning_days",
        "valeur 90 refusée, attendu : moins que `accounts.inactivity_days` (90)",
    );
}

/// `command` stops at once, naming the key, the variable that set it and
/// why, in French.
fn refused(command: &str, (variable, value): (&str, &str), key: &str, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&dir, &[command], &[(variable, value)]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("`{key}`")), "{stderr}");
    assert!(stderr.contains(variable), "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
}

#[test]
fn a_missing_config_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&dir, &["--config", "absent.toml", "config"], &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("absent.toml"));
}

/// A `relais serve` child process, killed if the test fails.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_environment_variable_moves_the_server_and_sigterm_stops_it_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = relais_binary()
        .current_dir(dir.path())
        .arg("serve")
        .env("RELAIS__SERVER__ADDRESS", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let served = Served(child);
    // The binary prints its address once it listens.
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert_eq!(
        first_line.trim(),
        format!("relais écoute sur http://127.0.0.1:{port}/")
    );

    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        dir.path().join("data/relais.db").is_file(),
        "default SQLite file created"
    );
    assert!(
        dir.path().join("index").is_dir(),
        "default index folder created"
    );

    let mut served = served;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &served.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The server is another process: waiting for it here blocks nothing of ours.
    let status = served.0.wait().unwrap();
    assert!(
        status.success(),
        "a graceful stop exits with 0, got {status}"
    );
}
