//! Mail through a real SMTP server on loopback (mailin, embedded in the test
//! process): delivery, a server that is down when the request is made, and a
//! server that refuses until the message is « en échec » and is sent again.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use relais::config::{MailTransport, Settings, SmtpSecurity};
use relais::mail::outbox;
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, free_port, spawn_app_with};
use crate::referrals::{CANDIDATE, desk, hidden, location, page, propose, publish};

/// What the server received, and whether it refuses mail for now.
#[derive(Clone, Default)]
pub struct Inbox {
    pub received: Arc<Mutex<Vec<String>>>,
    refusing: Arc<AtomicBool>,
    current: Vec<u8>,
}

impl Handler for Inbox {
    fn rcpt(&mut self, _to: &str) -> Response {
        if self.refusing.load(Ordering::SeqCst) {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&std::mem::take(&mut self.current)).into_owned();
        self.received.lock().unwrap().push(message);
        response::OK
    }
}

/// Starts an SMTP server on that port; it serves until the tests end.
pub fn start_smtp(port: u16, inbox: Inbox) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut server = Server::new(inbox);
    server
        .with_name("smtp.test")
        .with_ssl(SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
}

pub fn through_smtp(settings: &mut Settings, port: u16, dir: &std::path::Path) {
    settings.mail.transport = MailTransport::Smtp;
    settings.mail.smtp.host = "127.0.0.1".to_owned();
    settings.mail.smtp.port = port;
    settings.mail.smtp.security = SmtpSecurity::None;
    settings.mail.smtp.timeout_secs = 5;
    settings.mail.max_attempts = std::num::NonZeroU32::new(3).unwrap();
    settings.mail.retry_base_secs = std::num::NonZeroU32::new(60).unwrap();
    settings.mail.retry_max_secs = std::num::NonZeroU32::new(60).unwrap();
    // Test mailboxes: even a loopback server never sees the real ones.
    let agencies = dir.join("agencies.toml");
    std::fs::write(
        &agencies,
        "[[agency]]\ncode = \"13013\"\nname = \"Aix Galice\"\nmailbox = \"recrutement@agence.test\"\n",
    )
    .unwrap();
    settings.agencies.file = agencies;
}

async fn app_with_smtp(backend: Backend, port: u16) -> Option<(TestApp, tempfile::TempDir)> {
    let files = tempfile::tempdir().unwrap();
    let app = spawn_app_with(backend, |s| through_smtp(s, port, files.path())).await?;
    Some((app, files))
}

/// A coach sends a contact request; returns the record's path.
async fn request(app: &TestApp, desk: &crate::referrals::Desk) -> String {
    publish(app, "400AAAA", true).await;
    let response = propose(
        app,
        &desk.coach,
        "400AAAA",
        "demande-de-contact",
        &CANDIDATE,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response).split('?').next().unwrap().to_owned()
}

async fn delivered_by_smtp(backend: Backend) {
    let inbox = Inbox::default();
    let port = free_port();
    start_smtp(port, inbox.clone());
    let Some((app, _files)) = app_with_smtp(backend, port).await else {
        return;
    };
    let desk = desk(&app, "PLIE Aix", false).await;
    let record = request(&app, &desk).await;

    assert_eq!(
        app.run_job("deliver-mail").await,
        "1 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif."
    );
    let received = inbox.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    let id = app.database.run(outbox::list).await.unwrap()[0].id.clone();
    assert!(
        message.contains(&format!("Message-ID: <{id}@relais>")),
        "{message}"
    );
    assert!(message.contains("To: recrutement@agence.test"));
    assert!(message.contains("/agence/demandes/"));
    for personal in ["Durand", "Paul", "1234567A"] {
        assert!(!message.contains(personal), "{personal} travelled by mail");
    }
    let (_, shown) = page(&app, &desk.coach, &record).await;
    assert!(shown.contains("envoyée"));
}

async fn waits_for_a_server_that_is_down(backend: Backend) {
    let port = free_port();
    let Some((app, _files)) = app_with_smtp(backend, port).await else {
        return;
    };
    let desk = desk(&app, "PLIE Aix", false).await;
    let record = request(&app, &desk).await;

    assert_eq!(
        app.run_job("deliver-mail").await,
        "0 courriel(s) envoyé(s), 1 à réessayer, 0 en échec définitif."
    );
    let (_, shown) = page(&app, &desk.coach, &record).await;
    assert!(shown.contains("enregistrée"), "accepted, waiting to leave");

    let inbox = Inbox::default();
    start_smtp(port, inbox.clone());
    // Before its retry time, the message waits; after it, it leaves.
    assert_eq!(
        app.run_job("deliver-mail").await,
        "0 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif."
    );
    app.clock.advance(Duration::seconds(61));
    assert_eq!(
        app.run_job("deliver-mail").await,
        "1 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif."
    );
    assert_eq!(inbox.received.lock().unwrap().len(), 1);
}

async fn fails_visibly_then_is_sent_again(backend: Backend) {
    let inbox = Inbox::default();
    inbox.refusing.store(true, Ordering::SeqCst);
    let port = free_port();
    start_smtp(port, inbox.clone());
    let Some((app, _files)) = app_with_smtp(backend, port).await else {
        return;
    };
    let desk = desk(&app, "PLIE Aix", false).await;
    let record = request(&app, &desk).await;

    let mut last = String::new();
    for _ in 0..3 {
        last = app.run_job("deliver-mail").await;
        // Past the longest retry delay, well within the session's idle time.
        app.clock.advance(Duration::seconds(61));
    }
    assert_eq!(
        last,
        "0 courriel(s) envoyé(s), 0 à réessayer, 1 en échec définitif."
    );
    let (_, shown) = page(&app, &desk.coach, &record).await;
    assert!(shown.contains("en échec d'envoi"), "{shown}");
    let (status, mails) = page(&app, &desk.rgc, "/courriels").await;
    assert_eq!(status, StatusCode::OK);
    assert!(mails.contains("en échec") && mails.contains("Mailbox unavailable"));
    let (status, _) = page(&app, &desk.coach, "/courriels").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a coach does not manage mail"
    );

    inbox.refusing.store(false, Ordering::SeqCst);
    let id = app.database.run(outbox::list).await.unwrap()[0].id.clone();
    let csrf = hidden(&mails, "csrf");
    let retried = app
        .post_form(
            &desk.rgc,
            &format!("/courriels/{id}/relance"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.run_job("deliver-mail").await,
        "1 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif."
    );
    assert_eq!(inbox.received.lock().unwrap().len(), 1);
    let (_, shown) = page(&app, &desk.coach, &record).await;
    assert!(shown.contains("envoyée"));
    let (_, journal) = page(&app, &desk.rgc, "/journal").await;
    assert!(journal.contains("courriel en échec") && journal.contains("courriel renvoyé"));
}

crate::scenarios_on_each_backend!(
    delivered_by_smtp,
    waits_for_a_server_that_is_down,
    fails_visibly_then_is_sent_again
);
