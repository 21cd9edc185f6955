//! `relais demo`, the README's first command, run as a newcomer runs it: in
//! an empty folder, then started again in the same folder.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use tempfile::TempDir;

use crate::helpers::{browser, client, log_in_at, relais_binary};

/// A running `relais demo` and what it printed before "Ctrl+C pour arrêter.".
struct Demo {
    child: Child,
    stderr: JoinHandle<String>,
    printed: String,
}

/// One printed login: (role, identifier, first password).
type Login = (String, String, String);

impl Demo {
    fn start(dir: &TempDir) -> Demo {
        let mut child = relais_binary()
            .current_dir(dir.path())
            .arg("demo")
            .env("RELAIS__SERVER__ADDRESS", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut logs = String::new();
            let _ = stderr.read_to_string(&mut logs);
            logs
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("Ctrl+C") {
                break;
            }
        }
        // Read on: a full pipe would block the server's next print.
        std::thread::spawn(move || lines.for_each(drop));
        let demo = Demo {
            child,
            stderr,
            printed,
        };
        if !demo.printed.contains("Ctrl+C pour arrêter.") {
            let (_, logs) = demo.stop();
            panic!("the demo stopped before serving:\n{logs}");
        }
        demo
    }

    /// The value printed after `label` and its colon.
    fn field(&self, label: &str) -> &str {
        self.printed
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(" : ")?;
                (name.trim() == label).then(|| value.trim())
            })
            .unwrap_or_else(|| panic!("no « {label} » in:\n{}", self.printed))
    }

    fn url(&self) -> &str {
        self.field("Portail")
    }

    /// The key and the address of the printed `curl` command.
    fn search(&self) -> (&str, &str) {
        let command = self.field("Recherche (API)");
        let key = command
            .split_once("Bearer ")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(key, _)| key)
            .unwrap();
        let address = self
            .printed
            .lines()
            .skip_while(|line| !line.contains("Recherche (API)"))
            .nth(1)
            .unwrap()
            .trim()
            .trim_matches('\'');
        (key, address)
    }

    /// The logins printed under "Connexion".
    fn logins(&self) -> Vec<Login> {
        self.printed
            .lines()
            .skip_while(|line| !line.trim_start().starts_with("Connexion"))
            .skip(1)
            .take_while(|line| line.starts_with("    "))
            .map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let [role, login, password] = words[..] else {
                    panic!("a login line is role, identifier, password: {line}");
                };
                (role.to_owned(), login.to_owned(), password.to_owned())
            })
            .collect()
    }

    /// Signs in at its login page, in a new browser.
    async fn log_in(&self, login: &str, password: &str) -> reqwest::Response {
        log_in_at(
            &browser(),
            self.url().trim_end_matches('/'),
            login,
            password,
        )
        .await
    }

    async fn wait_until_ready(&self, http: &Client) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answer = http.get(format!("{}readyz", self.url())).send().await;
            if answer.as_ref().is_ok_and(|a| a.status() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "not ready: {answer:?}");
            // Polling readiness, as a load balancer does.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it as Ctrl+C would (unless it stopped already); its exit status
    /// and its logs.
    fn stop(mut self) -> (ExitStatus, String) {
        if self.child.try_wait().unwrap().is_none() {
            let signalled = std::process::Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status()
                .unwrap();
            assert!(signalled.success());
        }
        let status = self.child.wait().unwrap();
        (status, self.stderr.join().unwrap())
    }
}

#[tokio::test]
async fn the_demo_serves_its_offers_and_prints_logins_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let http = client().build().unwrap();

    let first = Demo::start(&dir);
    assert_eq!(first.field("Offres").split(',').next(), Some("5000"));
    assert!(
        first.field("Données").contains("6 agences"),
        "{}",
        first.printed
    );
    first.wait_until_ready(&http).await;

    let (key, address) = first.search();
    let key = key.to_owned();
    let found = http.get(address).bearer_auth(&key).send().await.unwrap();
    assert!([200, 206].contains(&found.status().as_u16()), "{found:?}");
    let range = found.headers()["content-range"]
        .to_str()
        .unwrap()
        .to_owned();
    let total: usize = range.rsplit_once('/').unwrap().1.parse().unwrap();
    let body: Value = found.json().await.unwrap();
    let shown = body["resultats"].as_array().unwrap().len();
    assert!(total > 0 && total < 5000, "{range}");
    assert_eq!(shown, total.min(150), "{range}");

    let logins = first.logins();
    let roles: Vec<&str> = logins.iter().map(|(role, _, _)| role.as_str()).collect();
    assert_eq!(
        roles,
        [
            "administratrice",
            "RGC",
            "accompagnatrice",
            "accompagnateur",
            "accompagnatrice"
        ]
    );
    for (role, login, password) in &logins {
        let signed_in = first.log_in(login, password).await;
        assert_eq!(signed_in.status(), 303, "{role} {login}");
        assert_eq!(signed_in.headers()["location"], "/mot-de-passe", "{role}");
    }
    let (stopped, logs) = first.stop();
    assert!(stopped.success(), "{logs}");

    // Started again: the same data, a new key and new first passwords, the
    // old ones refused.
    let second = Demo::start(&dir);
    assert_eq!(second.field("Offres").split(',').next(), Some("5000"));
    let (_, coach, old_password) = &logins[2];
    let (_, same_coach, new_password) = &second.logins()[2];
    assert_eq!(coach, same_coach);
    assert_ne!(old_password, new_password);
    let (new_key, address) = second.search();
    assert_ne!(key, new_key);
    let old_key = http.get(address).bearer_auth(&key).send().await.unwrap();
    assert_eq!(old_key.status(), 401, "the previous start's key is revoked");
    let refused = second.log_in(coach, old_password).await;
    assert_eq!(refused.status(), 401);
    let signed_in = second.log_in(coach, new_password).await;
    assert_eq!(signed_in.status(), 303);
    let (stopped, logs) = second.stop();
    assert!(stopped.success(), "{logs}");
}
