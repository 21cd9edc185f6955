//! Suspension after three months idle, the warning before, the mails.

use std::num::NonZeroU32;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use relais::accounts::{self, Account, PartnerTerms, Person, Role};
use relais::db::DbConnection;
use relais::jobs::{self, JobError};
use relais::mail::outbox;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::{on_each_backend, scenarios_on_each_backend};

fn run(app: &TestApp, job: &str) -> String {
    jobs::run_once(job, &app.database, &app.served_settings(), &app.clock).unwrap()
}

fn mails_to(app: &TestApp, address: &str) -> Vec<outbox::Queued> {
    let mut conn = app.database.connection().unwrap();
    outbox::list(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|m| m.recipient == address)
        .collect()
}

/// A partner of the PLIE du Pays d'Aix, created now.
fn new_partner(conn: &mut DbConnection, now: NaiveDateTime) -> String {
    let terms = PartnerTerms {
        name: "PLIE du Pays d'Aix".to_owned(),
        agency_code: "13013".to_owned(),
        agreement_start: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
        agreement_end: NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
        seats: 6,
        offers_service: true,
        referrals_service: true,
    };
    accounts::create_partner(conn, now, None, &terms)
        .unwrap()
        .id
}

fn person(name: &str, email: &str) -> Person {
    Person::parse(name, "Fonction", email).unwrap()
}

/// Awa Diallo, a coach of a new partner, created now.
fn new_coach(conn: &mut DbConnection, now: NaiveDateTime) -> Account {
    let partner = new_partner(conn, now);
    let coach = person("Awa Diallo", "awa@plie.example");
    accounts::create_account(conn, now, None, Some(&partner), Role::Coach, &coach)
        .unwrap()
        .0
}

on_each_backend! {
    async fn idle_time_counts_only_while_the_agreement_lets_people_in(app) {
        let mut conn = app.database.connection().unwrap();
        let now = app.clock_now();
        let today = relais::clock::in_paris(now).date();
        let with_agreement = |conn: &mut DbConnection, name: &str, start: NaiveDate, end: NaiveDate, email: &str| {
            let terms = PartnerTerms {
                name: name.to_owned(),
                agency_code: "13013".to_owned(),
                agreement_start: start,
                agreement_end: end,
                seats: 6,
                offers_service: true,
                referrals_service: true,
            };
            let partner = accounts::create_partner(conn, now, None, &terms).unwrap().id;
            accounts::create_account(conn, now, None, Some(&partner), Role::Coach, &person("Awa Diallo", email)).unwrap().0
        };
        // One agreement opens in 30 days, another ends in 10.
        let waiting = with_agreement(&mut conn, "Mission locale", today + Duration::days(30), today + Duration::days(3000), "ml@plie.example");
        let ending = with_agreement(&mut conn, "PLIE", today - Duration::days(300), today + Duration::days(10), "plie@plie.example");

        // Day 100: 70 days since the first opened, none since the second closed.
        app.clock.advance(Duration::days(100));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        // The second is renewed: idle for 100 days, its coach is warned
        // first, with 15 days ahead, rather than suspended at once.
        let renewed = ending.partner_id.clone().unwrap();
        let terms = accounts::partner(&mut conn, &renewed).unwrap().terms;
        accounts::update_partner(&mut conn, app.clock_now(), None, &renewed, &PartnerTerms { agreement_end: today + Duration::days(3000), ..terms }).unwrap();
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        let warning = mails_to(&app, "plie@plie.example");
        let on = relais::clock::in_paris(app.clock_now() + Duration::days(15)).format("%d/%m/%Y").to_string();
        assert!(warning[0].body.contains(&format!("Sans connexion d'ici le {on}")), "{}", warning[0].body);
        // Day 110: 80 days since the first opened: warned.
        app.clock.advance(Duration::days(10));
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        assert_eq!(mails_to(&app, "ml@plie.example").len(), 1);
        // Day 116: past the renewed one's warning; day 121: 91 days since
        // the first opened, but its warning gave it until day 125.
        app.clock.advance(Duration::days(6));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 1 compte(s) suspendu(s).");
        assert_eq!(accounts::find(&mut conn, &ending.id).unwrap().status, "suspended");
        app.clock.advance(Duration::days(5));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        app.clock.advance(Duration::days(5));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 1 compte(s) suspendu(s).");
        assert_eq!(accounts::find(&mut conn, &waiting.id).unwrap().status, "suspended");
    }

    async fn a_warning_given_before_an_agreement_closed_is_given_again_when_it_reopens(app) {
        let mut conn = app.database.connection().unwrap();
        let today = relais::clock::in_paris(app.clock_now()).date();
        let coach = new_coach(&mut conn, app.clock_now());
        let partner = coach.partner_id.clone().unwrap();
        let terms = accounts::partner(&mut conn, &partner).unwrap().terms;
        accounts::update_partner(&mut conn, app.clock_now(), None, &partner, &PartnerTerms { agreement_end: today + Duration::days(85), ..terms.clone() }).unwrap();
        // Day 80: warned, for day 95. Day 86: the agreement is over.
        app.clock.advance(Duration::days(80));
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        app.clock.advance(Duration::days(20));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).", "nobody can sign in");
        // Day 100: renewed. The date of the warning passed while nobody
        // could sign in: a new warning, 15 days ahead, not a suspension.
        accounts::update_partner(&mut conn, app.clock_now(), None, &partner, &PartnerTerms { agreement_end: today + Duration::days(3000), ..terms }).unwrap();
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        let warnings = mails_to(&app, "awa@plie.example");
        let on = relais::clock::in_paris(app.clock_now() + Duration::days(15)).format("%d/%m/%Y").to_string();
        assert_eq!(warnings.len(), 2);
        assert!(warnings.iter().any(|m| m.body.contains(&format!("Sans connexion d'ici le {on}"))), "{warnings:?}");
        app.clock.advance(Duration::days(16));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 1 compte(s) suspendu(s).");
        assert_eq!(accounts::find(&mut conn, &coach.id).unwrap().status, "suspended");
    }

    async fn idle_accounts_are_warned_then_suspended_and_the_right_people_told(app) {
        let mut conn = app.database.connection().unwrap();
        let now = app.clock_now();
        let partner = new_partner(&mut conn, now);
        let (admin, _) = accounts::create_account(&mut conn, now, None, None, Role::Admin, &person("Louise Garnier", "admin@ft.example")).unwrap();
        let (rgc_account, rgc) = accounts::create_account(&mut conn, now, None, Some(&partner), Role::Rgc, &person("Rachid Benali", "rgc@plie.example")).unwrap();
        let (coach, _) = accounts::create_account(&mut conn, now, None, Some(&partner), Role::Coach, &person("Awa Diallo", "awa@plie.example")).unwrap();

        // Day 70: nothing yet. Day 80: the RGC works; the coach is warned
        // (within 15 days of 90), with 15 days ahead: until day 95.
        app.clock.advance(Duration::days(70));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        app.clock.advance(Duration::days(10));
        relais::auth::login(&mut conn, app.clock_now(), &rgc.login, &rgc.password, "127.0.0.1").unwrap();
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        let warning = mails_to(&app, "awa@plie.example");
        assert_eq!(warning.len(), 1);
        assert!(warning[0].subject.contains("sera suspendu"));
        let sign_in = format!("connectez-vous simplement à relais : {}/connexion\n", app.address);
        assert!(warning[0].body.contains(&sign_in), "{}", warning[0].body);
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).", "warned once");

        // Day 96: the coach is suspended; the RGC is told, the sessions end, login is refused.
        app.clock.advance(Duration::days(11));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).", "day 91: the warning gave until day 95");
        app.clock.advance(Duration::days(5));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 1 compte(s) suspendu(s).");
        assert_eq!(accounts::find(&mut conn, &coach.id).unwrap().status, "suspended");
        let told = mails_to(&app, "rgc@plie.example");
        assert_eq!(told.len(), 1);
        assert!(told[0].subject.contains("un compte de votre structure est suspendu"));
        assert!(told[0].body.contains(&coach.login));
        let accounts_page = format!("« Comptes de la structure » : {}/structure/comptes\n", app.address);
        assert!(told[0].body.contains(&accounts_page), "{}", told[0].body);
        assert!(mails_to(&app, "admin@ft.example").is_empty());

        // The mail leaves through the file transport.
        assert_eq!(run(&app, "deliver-mail"), "2 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif.");
        let files: Vec<_> = std::fs::read_dir(&app.settings.mail.file_dir).unwrap().collect();
        assert_eq!(files.len(), 2);
        assert_eq!(run(&app, "deliver-mail"), "0 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif.");

        // Only the RGC reactivates, within the seats.
        accounts::activate(&mut conn, app.clock_now(), None, &coach.id).unwrap();
        let actions: Vec<String> = relais::audit::search(&mut conn, &relais::audit::Filter { partner: Some(partner.clone()), ..Default::default() }, 1000).unwrap().into_iter().map(|r| r.action).collect();
        assert!(actions.contains(&"account_suspended".to_owned()) && actions.contains(&"account_reactivated".to_owned()));

        // Idle time counts again from the reactivation: the next run leaves the coach alone.
        app.clock.advance(Duration::days(1));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        assert_eq!(accounts::find(&mut conn, &coach.id).unwrap().status, "active");

        // Day 160: the RGC (last seen day 80) is warned; day 176, it is
        // suspended, and the platform admins are told; admins themselves are
        // never suspended. The coach (reactivated day 96) is warned.
        app.clock.advance(Duration::days(63));
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 0 compte(s) suspendu(s).");
        app.clock.advance(Duration::days(16));
        assert_eq!(run(&app, "suspend-inactive"), "1 personne(s) prévenue(s), 1 compte(s) suspendu(s).");
        assert_eq!(accounts::find(&mut conn, &rgc_account.id).unwrap().status, "suspended");
        let subjects = |address: &str| mails_to(&app, address).into_iter().map(|m| m.subject).collect::<Vec<_>>();
        assert!(subjects("admin@ft.example").iter().any(|s| s.contains("le compte d'un RGC est suspendu")), "{:?}", subjects("admin@ft.example"));
        // Admins follow every partner: the mail says which.
        let told = mails_to(&app, "admin@ft.example");
        assert!(told.iter().any(|m| m.body.contains(&format!("Le compte relais {} (Rachid Benali) de la structure « PLIE du Pays d'Aix » n'a pas servi", rgc.login))), "{:?}", told.iter().map(|m| &m.body).collect::<Vec<_>>());
        let partner_page = format!("page de la structure : {}/admin/structures/{partner}\n", app.address);
        assert!(told.iter().all(|m| m.body.contains(&partner_page)), "{:?}", told.iter().map(|m| &m.body).collect::<Vec<_>>());
        assert_eq!(accounts::find(&mut conn, &admin.id).unwrap().status, "active");
        let refused = relais::auth::login(&mut conn, app.clock_now(), &rgc.login, &rgc.password, "127.0.0.1").unwrap_err();
        assert!(refused.to_string().contains("Adressez-vous à l'administrateur de relais"), "{refused}");

        // Day 192: the coach is suspended while the partner has no active
        // RGC to reactivate it: the admins are told.
        app.clock.advance(Duration::days(16));
        assert_eq!(run(&app, "suspend-inactive"), "0 personne(s) prévenue(s), 1 compte(s) suspendu(s).");
        assert!(subjects("admin@ft.example").iter().any(|s| s.contains("dans une structure sans RGC actif")), "{:?}", subjects("admin@ft.example"));
        assert_eq!(mails_to(&app, "rgc@plie.example").len(), 2, "its own warning, then nothing more once suspended");
    }
}

scenarios_on_each_backend!(the_configured_period_is_applied_and_stated);

/// `accounts.inactivity_days` and `accounts.warning_days` set elsewhere than
/// their defaults: the job follows them, and so does the privacy notice.
async fn the_configured_period_is_applied_and_stated(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |settings| {
        settings.accounts.inactivity_days = NonZeroU32::new(30).unwrap();
        settings.accounts.warning_days = 5;
    })
    .await
    else {
        return;
    };
    let mut conn = app.database.connection().unwrap();
    let created = app.clock_now();
    let coach = new_coach(&mut conn, created);

    app.clock.advance(Duration::days(24));
    assert_eq!(
        run(&app, "suspend-inactive"),
        "0 personne(s) prévenue(s), 0 compte(s) suspendu(s)."
    );
    app.clock.advance(Duration::days(2));
    assert_eq!(
        run(&app, "suspend-inactive"),
        "1 personne(s) prévenue(s), 0 compte(s) suspendu(s)."
    );
    let warning = mails_to(&app, "awa@plie.example");
    // The day as people read it: in Paris; 30 days idle, and 5 from the
    // warning.
    let suspended_on = relais::clock::in_paris(app.clock_now() + Duration::days(5))
        .format("%d/%m/%Y")
        .to_string();
    assert!(
        warning[0]
            .body
            .contains(&format!("Sans connexion d'ici le {suspended_on}")),
        "{}",
        warning[0].body
    );
    app.clock.advance(Duration::days(6));
    assert_eq!(
        run(&app, "suspend-inactive"),
        "0 personne(s) prévenue(s), 1 compte(s) suspendu(s)."
    );
    assert_eq!(
        accounts::find(&mut conn, &coach.id).unwrap().status,
        "suspended"
    );

    let notice = app.get("/confidentialite").await.text().await.unwrap();
    assert!(
        notice.contains("Un compte inutilisé pendant 30 jours est suspendu"),
        "{notice}"
    );
}

scenarios_on_each_backend!(a_job_runs_on_one_node_at_a_time);

/// Nodes sharing a PostgreSQL database run each job in turn: while another
/// holds the turn, a run here changes nothing and says why. Mail delivery
/// is shared between nodes, never refused. An SQLite file serves one node.
async fn a_job_runs_on_one_node_at_a_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut conn = app.database.connection().unwrap();
    let created = app.clock_now();
    let coach = new_coach(&mut conn, created);
    app.clock.advance(Duration::days(100));
    // Warned first, then due for suspension.
    assert_eq!(
        run(&app, "suspend-inactive"),
        "1 personne(s) prévenue(s), 0 compte(s) suspendu(s)."
    );
    app.clock.advance(Duration::days(16));

    let other_node = jobs::take_turn(&app.database, "suspend-inactive").unwrap();
    let here = jobs::run_once("suspend-inactive", &app.database, &app.settings, &app.clock);
    match backend {
        Backend::Postgres => {
            let refused = here.unwrap_err();
            assert!(matches!(refused, JobError::Busy(_)), "{refused}");
            assert!(refused.to_string().contains("déjà en cours"), "{refused}");
            assert_eq!(
                accounts::find(&mut conn, &coach.id).unwrap().status,
                "active"
            );
            assert!(matches!(
                jobs::take_turn(&app.database, "suspend-inactive"),
                Err(JobError::Busy(_))
            ));
            // Other jobs have turns of their own.
            assert_eq!(
                run(&app, "anonymise-candidates"),
                "0 personne(s) accompagnée(s) anonymisée(s), dans 0 mise(s) en relation ou demande(s)."
            );
            // The warning leaves.
            assert_eq!(
                run(&app, "deliver-mail"),
                "1 courriel(s) envoyé(s), 0 à réessayer, 0 en échec définitif."
            );
            drop(other_node);
            assert_eq!(
                run(&app, "suspend-inactive"),
                "0 personne(s) prévenue(s), 1 compte(s) suspendu(s)."
            );
        }
        Backend::Sqlite => {
            assert_eq!(
                here.unwrap(),
                "0 personne(s) prévenue(s), 1 compte(s) suspendu(s)."
            );
            drop(other_node);
        }
    }
    assert_eq!(
        accounts::find(&mut conn, &coach.id).unwrap().status,
        "suspended"
    );
}
