//! The command line around offers: keys, import, reindex, demo data.

use std::process::Output;

use serde_json::Value;

use crate::helpers::relais_binary;

fn relais(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    relais_binary()
        .current_dir(dir.path())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn keys_are_shown_once_listed_without_secret_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let created = stdout(&relais(
        &dir,
        &[
            "api-key",
            "create",
            "--name",
            "source-si",
            "--scope",
            "ingest",
        ],
    ));
    let secret = created.lines().last().unwrap();
    assert!(
        secret.starts_with("relais_") && secret.len() > 60,
        "{created}"
    );

    let listed = stdout(&relais(&dir, &["api-key", "list"]));
    assert!(listed.contains("source-si") && listed.contains("ingest") && listed.contains("active"));
    assert!(!listed.contains(secret), "the secret is never listed");

    let again = relais(
        &dir,
        &[
            "api-key",
            "create",
            "--name",
            "source-si",
            "--scope",
            "search",
        ],
    );
    assert!(!again.status.success(), "one active key per name");

    stdout(&relais(&dir, &["api-key", "revoke", "source-si"]));
    assert!(stdout(&relais(&dir, &["api-key", "list"])).contains("révoquée"));
    assert!(
        !relais(&dir, &["api-key", "revoke", "source-si"])
            .status
            .success()
    );
}

#[test]
fn demo_data_imports_and_reindexes_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let generated = relais(&dir, &["demo-data", "--offers", "300", "--seed", "7"]);
    let lines = stdout(&generated);
    assert_eq!(lines.lines().count(), 300);
    assert_eq!(
        lines,
        stdout(&relais(
            &dir,
            &["demo-data", "--offers", "300", "--seed", "7"]
        )),
        "seeded"
    );
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(first["id"].is_string() && first["codeAgence"].is_string());

    let mut file = lines;
    file.push_str("{\"id\": \"SANS-AGENCE\"}\n");
    std::fs::write(dir.path().join("offres.jsonl"), file).unwrap();
    let report = stdout(&relais(&dir, &["import", "offres.jsonl"]));
    assert!(
        report.contains("300 créée(s), 0 modifiée(s), 0 inchangée(s), 1 rejetée(s)"),
        "{report}"
    );
    assert!(report.contains("ligne 301"), "{report}");
    let again = stdout(&relais(&dir, &["import", "offres.jsonl"]));
    assert!(
        again.contains("0 créée(s), 0 modifiée(s), 300 inchangée(s)"),
        "{again}"
    );

    let reindexed = stdout(&relais(&dir, &["reindex"]));
    assert!(reindexed.contains("300 offres"), "{reindexed}");
    assert!(dir.path().join("index/meta.json").is_file());
}

#[test]
fn a_platform_admin_is_created_with_a_one_time_password() {
    let dir = tempfile::tempdir().unwrap();
    let created = stdout(&relais(
        &dir,
        &[
            "admin",
            "create",
            "--name",
            "Louise Garnier",
            "--email",
            "louise.garnier@francetravail.example",
        ],
    ));
    assert!(created.contains("Identifiant  : lgarnier"), "{created}");
    let password = created
        .lines()
        .find_map(|line| line.strip_prefix("  Mot de passe : "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    assert_eq!(password.len(), 16);

    let again = stdout(&relais(
        &dir,
        &[
            "admin",
            "create",
            "--name",
            "Léo Garnier",
            "--email",
            "leo@francetravail.example",
        ],
    ));
    assert!(again.contains("Identifiant  : lgarnier2"), "{again}");

    let refused = relais(
        &dir,
        &[
            "admin",
            "create",
            "--name",
            "X",
            "--email",
            "pas-une-adresse",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("adresse électronique"));
}
