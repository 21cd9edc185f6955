//! Partners, accounts and seats, on both databases.

use std::sync::{Arc, Barrier, mpsc};

use chrono::{NaiveDate, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use relais::accounts::{self, AccountError, PartnerTerms, Person, Role};
use relais::db::Database;

use crate::helpers::{Backend, spawn_app};
use crate::on_each_backend;

fn now() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

fn partner(database: &Database, seats: i32) -> String {
    partner_named(database, "PLIE du Pays d'Aix", seats)
}

fn partner_named(database: &Database, name: &str, seats: i32) -> String {
    let mut conn = database.connection().unwrap();
    let partner = PartnerTerms {
        name: name.to_owned(),
        agency_code: "13013".to_owned(),
        agreement_start: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
        agreement_end: NaiveDate::from_ymd_opt(2030, 12, 31).unwrap(),
        seats,
        offers_service: true,
        referrals_service: true,
    };
    accounts::create_partner(&mut conn, now(), None, &partner)
        .unwrap()
        .id
}

fn coach(database: &Database, partner: &str, name: &str) -> accounts::Account {
    let mut conn = database.connection().unwrap();
    let email = format!("{}@plie.example", name.to_lowercase().replace(' ', "."));
    let person = Person::parse(name, "Accompagnatrice emploi", &email).unwrap();
    accounts::create_account(&mut conn, now(), None, Some(partner), Role::Coach, &person)
        .unwrap()
        .0
}

on_each_backend! {
    async fn no_more_accounts_than_seats_are_active_and_the_rgc_takes_none(app) {
        let partner = partner(&app.database, 2);
        let mut conn = app.database.connection().unwrap();
        let rgc = Person::parse("Rachid Benali", "Responsable", "rgc@plie.example").unwrap();
        accounts::create_account(&mut conn, now(), None, Some(&partner), Role::Rgc, &rgc).unwrap();
        let first = coach(&app.database, &partner, "Awa Diallo");
        let second = coach(&app.database, &partner, "Bruno Martin");
        let third = coach(&app.database, &partner, "Chloé Petit");
        assert_eq!((first.status.as_str(), second.status.as_str()), ("active", "active"));
        assert_eq!(third.status, "inactive", "created without a free seat");
        assert_eq!(accounts::seat_usage(&mut conn, &partner).unwrap(), (2, 2));

        let refused = accounts::activate(&mut conn, now(), None, &third.id).unwrap_err();
        assert!(matches!(refused, AccountError::NoSeat { active: 2, seats: 2 }));
        assert!(refused.to_string().contains("Désactivez d'abord"), "{refused}");

        accounts::deactivate(&mut conn, now(), None, &first.id).unwrap();
        accounts::activate(&mut conn, now(), None, &third.id).unwrap();
        assert_eq!(accounts::seat_usage(&mut conn, &partner).unwrap(), (2, 2));

        let actions: Vec<String> = relais::audit::search(&mut conn, &relais::audit::Filter { partner: Some(partner.clone()), ..Default::default() }, 1000).unwrap().into_iter().map(|r| r.action).collect();
        for action in ["partner_created", "account_created", "account_deactivated", "account_activated"] {
            assert!(actions.iter().any(|a| a == action), "{action} not audited: {actions:?}");
        }
    }

    async fn two_activations_racing_for_the_last_seat_one_wins(app) {
        let partner = partner(&app.database, 1);
        for round in 0..5 {
            let a = coach(&app.database, &partner, &format!("Awa Diallo {round}"));
            let b = coach(&app.database, &partner, &format!("Bruno Martin {round}"));
            let mut conn = app.database.connection().unwrap();
            // Free every seat, then race.
            accounts::deactivate(&mut conn, now(), None, &a.id).unwrap();
            accounts::deactivate(&mut conn, now(), None, &b.id).unwrap();
            for account in accounts::list_for_partner(&mut conn, &partner).unwrap() {
                accounts::deactivate(&mut conn, now(), None, &account.id).unwrap();
            }
            drop(conn);
            let barrier = Arc::new(Barrier::new(2));
            let racers: Vec<_> = [a.id.clone(), b.id.clone()]
                .into_iter()
                .map(|id| {
                    let database = app.database.clone();
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        let mut conn = database.connection().unwrap();
                        barrier.wait();
                        accounts::activate(&mut conn, now(), None, &id)
                    })
                })
                .collect();
            let outcomes: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
            let wins = outcomes.iter().filter(|o| o.is_ok()).count();
            let refusals = outcomes.iter().filter(|o| matches!(o, Err(AccountError::NoSeat { .. }))).count();
            assert_eq!((wins, refusals), (1, 1), "round {round}: {outcomes:?}");
            let mut conn = app.database.connection().unwrap();
            assert_eq!(accounts::seat_usage(&mut conn, &partner).unwrap(), (1, 1));
        }
    }

    async fn deactivating_an_inactive_account_records_nothing_more(app) {
        let partner = partner(&app.database, 2);
        let awa = coach(&app.database, &partner, "Awa Diallo");
        let mut conn = app.database.connection().unwrap();
        let deactivations = |conn: &mut relais::db::DbConnection| {
            let filter = relais::audit::Filter {
                person: Some(awa.id.clone()),
                action: Some("account_deactivated".to_owned()),
                ..Default::default()
            };
            relais::audit::search(conn, &filter, 100).unwrap().len()
        };
        accounts::deactivate(&mut conn, now(), None, &awa.id).unwrap();
        accounts::deactivate(&mut conn, now(), None, &awa.id).unwrap();
        assert_eq!(deactivations(&mut conn), 1);
        // Suspended, then deactivated: that is a change, recorded.
        accounts::activate(&mut conn, now(), None, &awa.id).unwrap();
        let settings = relais::config::AccountSettings { inactivity_days: std::num::NonZeroU32::new(90).unwrap(), warning_days: 15, inactivity_check_hours: 0 };
        relais::jobs::inactivity::run(&mut conn, now() + chrono::Duration::days(200), &settings, "http://relais.test").unwrap();
        relais::jobs::inactivity::run(&mut conn, now() + chrono::Duration::days(216), &settings, "http://relais.test").unwrap();
        let suspended = accounts::list_for_partner(&mut conn, &partner).unwrap().into_iter().find(|a| a.id == awa.id).unwrap();
        assert_eq!(suspended.status, "suspended");
        accounts::deactivate(&mut conn, now(), None, &awa.id).unwrap();
        assert_eq!(deactivations(&mut conn), 2);
    }

    async fn logins_come_from_the_name_and_are_never_reused(app) {
        let partner = partner(&app.database, 10);
        let first = coach(&app.database, &partner, "Jeanne-Marie Dupré");
        let second = coach(&app.database, &partner, "Jean Dupré");
        assert_eq!(first.login, "jdupre");
        assert_eq!(second.login, "jdupre2");
        assert_eq!(coach(&app.database, &partner, "Paul N'Guessan").login, "pnguessan");
        assert_eq!(coach(&app.database, &partner, "Jeanne d’Arc").login, "jdarc");
        assert!(first.must_change_password);
    }
}

on_each_backend! {
    async fn every_account_event_leaves_an_audit_row(app) {
        use relais::audit::{Action, Filter};
        let partner = partner(&app.database, 1);
        let mut conn = app.database.connection().unwrap();
        let terms = accounts::partner(&mut conn, &partner).unwrap().terms;
        accounts::update_partner(&mut conn, now(), None, &partner, &PartnerTerms { seats: 2, ..terms }).unwrap();
        let rgc = Person::parse("Rachid Benali", "RGC", "rgc@plie.example").unwrap();
        accounts::replace_rgc(&mut conn, now(), None, &partner, &rgc, accounts::PreviousRgc::Deactivated).unwrap();
        let other = Person::parse("Sonia Haddad", "RGC", "sonia@plie.example").unwrap();
        accounts::replace_rgc(&mut conn, now(), None, &partner, &other, accounts::PreviousRgc::Coach).unwrap();
        let awa = coach(&app.database, &partner, "Awa Diallo");
        accounts::deactivate(&mut conn, now(), None, &awa.id).unwrap();
        accounts::activate(&mut conn, now(), None, &awa.id).unwrap();
        let corrected = Person::parse("Awa Diallo", "Conseillère", "awa.corrigee@plie.example").unwrap();
        accounts::update_person(&mut conn, now(), None, &awa.id, &corrected).unwrap();
        let fresh = accounts::reset_password(&mut conn, now(), None, &awa.id).unwrap();
        let _ = relais::auth::login(&mut conn, now(), &awa.login, "mauvais mot de passe", "127.0.0.1");
        let (token, account) = relais::auth::login(&mut conn, now(), &awa.login, &fresh.password, "127.0.0.1").unwrap();
        relais::auth::change_password(&mut conn, now(), &account, &fresh.password, "une phrase assez longue").unwrap();
        relais::auth::logout(&mut conn, now(), &token, "127.0.0.1").unwrap();
        let settings = relais::config::AccountSettings { inactivity_days: std::num::NonZeroU32::new(90).unwrap(), warning_days: 15, inactivity_check_hours: 0 };
        // Warned, then suspended.
        relais::jobs::inactivity::run(&mut conn, now() + chrono::Duration::days(200), &settings, "http://relais.test").unwrap();
        relais::jobs::inactivity::run(&mut conn, now() + chrono::Duration::days(216), &settings, "http://relais.test").unwrap();
        accounts::activate(&mut conn, now(), None, &awa.id).unwrap();
        accounts::delete(&mut conn, now(), None, &awa.id).unwrap();

        let recorded: std::collections::HashSet<String> = relais::audit::search(&mut conn, &Filter::default(), 1000)
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .collect();
        // Referral, retention, mail, single sign-on and announcement events
        // have their own tests (referrals, smtp, sso, announcements).
        let elsewhere = [
            Action::SsoLinked,
            Action::SsoUnlinked,
            Action::SsoFailed,
            Action::ReferralRecorded,
            Action::ContactRequested,
            Action::OfferSheetPrinted,
            Action::RequestAnswered,
            Action::CandidateCorrected,
            Action::CandidatesAnonymised,
            Action::MailFailed,
            Action::MailRetried,
            Action::AnnouncementPublished,
            Action::AnnouncementWithdrawn,
        ];
        for action in Action::ALL.into_iter().filter(|a| !elsewhere.contains(a)) {
            assert!(recorded.contains(action.as_str()), "no audit row for {}", action.as_str());
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

#[derive(diesel::QueryableByName)]
struct ServerProcess {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// Whether the server process `pid` waits for another's lock.
fn waits_for_a_lock(conn: &mut PgConnection, pid: i32) -> bool {
    diesel::sql_query(
        "SELECT count(*) AS count FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
    )
    .bind::<diesel::sql_types::Integer, _>(pid)
    .get_result::<Waiting>(conn)
    .unwrap()
    .count
        > 0
}

/// On PostgreSQL, two requests at once can both check that no account has
/// an address before either writes it (SQLite lets one writer in at a
/// time). The second to write must wait for the first, then be refused.
#[tokio::test]
async fn an_address_given_twice_at_once_goes_to_the_first() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let database = app.database.clone();
    let creating_partner = partner_named(&database, "PLIE du Pays d'Aix", 5);
    let correcting_partner = partner_named(&database, "Mission locale de Marseille", 5);
    let corrected = coach(&database, &correcting_partner, "Bruno Martin");

    // An RGC creates an account with the address, not yet committed…
    let (created, creation_written) = mpsc::channel();
    let (commit, may_commit) = mpsc::channel::<()>();
    let creating = {
        let database = database.clone();
        std::thread::spawn(move || {
            let mut conn = database.connection().unwrap();
            conn.transaction(|conn| {
                let person =
                    Person::parse("Awa Diallo", "Conseillère", "awa@plie.example").unwrap();
                accounts::create_account(
                    conn,
                    now(),
                    None,
                    Some(&creating_partner),
                    Role::Coach,
                    &person,
                )?;
                created.send(()).unwrap();
                may_commit.recv().unwrap();
                Ok::<_, AccountError>(())
            })
        })
    };
    creation_written.recv().unwrap();
    // …while another RGC gives it, in another case, to an account of theirs.
    let (connected, correcting_pid) = mpsc::channel();
    let correcting = std::thread::spawn(move || {
        let mut conn = database.connection().unwrap();
        let relais::db::DbConnection::Postgres(pg) = &mut *conn else {
            panic!("a PostgreSQL URL gave another connection");
        };
        let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<ServerProcess>(pg)
            .unwrap()
            .pid;
        connected.send(pid).unwrap();
        let person = Person::parse("Bruno Martin", "Conseiller", "Awa@Plie.example").unwrap();
        accounts::update_person(&mut conn, now(), None, &corrected.id, &person)
    });
    // The correction cannot see the uncommitted account: it either writes
    // the address at once or waits for the creation to end.
    let mut observer = PgConnection::establish(&app.postgres.as_ref().unwrap().url).unwrap();
    let pid = correcting_pid.recv().unwrap();
    while !correcting.is_finished() && !waits_for_a_lock(&mut observer, pid) {
        std::thread::yield_now();
    }
    commit.send(()).unwrap();
    creating.join().unwrap().unwrap();
    let refused = correcting
        .join()
        .unwrap()
        .expect_err("two accounts have one address");
    assert!(
        refused
            .to_string()
            .contains("est déjà celle d'un compte relais"),
        "{refused}"
    );
}
