//! The upstream sync against the local stand-in for France Travail: a scope
//! past the start-index cap, a token revoked mid-run, 429 storms, a 500
//! mid-run, an offer vanishing between runs, the rate limit, offers outside
//! every agency's territory, the admin's page and the command line.

use chrono::{DateTime, Duration, Utc};
use relais::apikeys::Scope;
use relais::config::Settings;
use relais::offers::sync::runs::{self, RunStatus, SyncRun};
use relais::offers::{OfferId, store};
use serde_json::Value;

use crate::france_travail::{Knobs, StandIn, offer};
use crate::helpers::{Backend, TestApp, relais_binary, spawn_app_with};

/// Communes of each of the six agencies, in the default rule.
const OURS: [&str; 6] = ["13001", "13110", "13041", "13117", "13054", "84089"];

/// `count` offers in our communes, one every `step`, the newest an hour ago.
fn offers(prefix: &str, count: usize, step: Duration) -> Vec<Value> {
    let newest = Utc::now() - Duration::hours(1);
    (0..count)
        .map(|i| {
            let created: DateTime<Utc> = newest - step * i as i32;
            offer(&format!("{prefix}{i:05}"), OURS[i % OURS.len()], created)
        })
        .collect()
}

async fn app(backend: Backend, standin: &StandIn) -> Option<TestApp> {
    spawn_app_with(backend, |settings| standin.configure(settings)).await
}

/// A stand-in holding these offers, set so, and the app pointed at it.
async fn start(
    backend: Backend,
    upstream: Vec<Value>,
    knobs: impl FnOnce(&mut Knobs),
) -> Option<(StandIn, TestApp)> {
    let standin = StandIn::start(upstream).await;
    standin.set(knobs);
    let app = app(backend, &standin).await?;
    Some((standin, app))
}

/// Runs the job as the scheduler does, with the app's settings changed.
async fn sync_with(app: &TestApp, change: impl FnOnce(&mut Settings)) -> Result<String, String> {
    let (database, mut settings, clock) = (
        app.database.clone(),
        app.settings.clone(),
        app.clock.clone(),
    );
    change(&mut settings);
    tokio::task::spawn_blocking(move || {
        relais::jobs::run_once("sync-offers", &database, &settings, &clock)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap()
}

async fn sync(app: &TestApp) -> Result<String, String> {
    sync_with(app, |_| {}).await
}

/// The run recorded as failed.
async fn failed_run(app: &TestApp) -> SyncRun {
    let recent = app
        .database
        .run(|conn| runs::recent(conn, 10))
        .await
        .unwrap();
    recent
        .into_iter()
        .find(|run| run.status() == Some(RunStatus::Failed))
        .expect("the failed run is recorded")
}

async fn only_run(app: &TestApp) -> SyncRun {
    let mut recent = app
        .database
        .run(|conn| runs::recent(conn, 100))
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    recent.remove(0)
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let id = OfferId::parse(id).unwrap();
    app.database
        .run(move |conn| store::find(conn, &id))
        .await
        .unwrap()
        .expect("stored")
        .status
}

/// How many offers the portal's search finds for that query.
async fn found(app: &TestApp, key: &str, query: &str) -> usize {
    app.wait_for_index().await;
    let response = app.search(key, &format!("{query}&range=0-0")).await;
    if response.status() == 204 {
        return 0;
    }
    assert!(response.status().is_success(), "{}", response.status());
    response.headers()["content-range"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn a_scope_past_the_start_index_cap_is_read_in_windows(backend: Backend) {
    // 3,400 offers over six months: more than the 3,150 one query can reach.
    let mut upstream = offers("W", 3400, Duration::seconds(4600));
    // Marseille (13) is in the departments but no agency's territory; Nice
    // (06) is not even asked for.
    let now = Utc::now();
    upstream
        .extend((0..20).map(|i| offer(&format!("MRS{i:03}"), "13055", now - Duration::days(i))));
    upstream
        .extend((0..10).map(|i| offer(&format!("NCE{i:03}"), "06088", now - Duration::days(i))));
    let Some((standin, app)) = start(backend, upstream, |_| {}).await else {
        return;
    };

    let summary = sync(&app).await.unwrap();
    assert!(summary.contains("Synchronisation réussie"), "{summary}");
    let run = only_run(&app).await;
    assert_eq!(run.status(), Some(RunStatus::Succeeded));
    let counts = run.counts;
    assert_eq!(
        counts.fetched, 3420,
        "every window read, Nice never asked for"
    );
    assert_eq!(counts.created, 3400);
    assert_eq!(
        (counts.updated, counts.unchanged, counts.rejected),
        (0, 0, 0),
        "each offer ingested exactly once"
    );
    assert_eq!(counts.out_of_territory, 20);
    assert_eq!(
        standin.served(400),
        0,
        "no query past the documented limits"
    );
    assert!(
        standin.searches() > 23,
        "split into windows: {}",
        standin.searches()
    );
    assert_eq!(
        counts.requests,
        i64::from(standin.searches() + standin.tokens_issued())
    );

    let key = app.key(Scope::Search).await;
    assert_eq!(
        found(&app, &key, "departement=13").await + found(&app, &key, "departement=84").await,
        3400
    );
    assert_eq!(found(&app, &key, "codeAgence=84526").await, 3400 / 6);
    assert_eq!(found(&app, &key, "commune=13055&distance=0").await, 0);
}

async fn a_token_revoked_mid_run_is_replaced(backend: Backend) {
    let Some((standin, app)) = start(backend, offers("T", 450, Duration::hours(1)), |knobs| {
        knobs.revoke_after_searches = Some(1)
    })
    .await
    else {
        return;
    };

    sync(&app).await.unwrap();
    let run = only_run(&app).await;
    assert_eq!(run.status(), Some(RunStatus::Succeeded));
    assert_eq!(run.counts.created, 450);
    assert_eq!(standin.tokens_issued(), 3, "one token a page");
    assert_eq!(standin.served(401), 2);
}

async fn a_429_storm_is_waited_out_and_a_longer_one_fails_the_run_keeping_the_data(
    backend: Backend,
) {
    let Some((standin, app)) = start(backend, offers("S", 300, Duration::hours(1)), |_| {}).await
    else {
        return;
    };
    standin.set(|knobs| knobs.too_many_requests = 2);
    sync(&app).await.unwrap();
    assert_eq!(standin.served(429), 2);
    assert_eq!(only_run(&app).await.counts.created, 300);

    standin.remove_offer("S00007");
    standin.set(|knobs| knobs.too_many_requests = 10);
    let failed = sync_with(&app, |s| s.sync.max_retries = 2)
        .await
        .unwrap_err();
    assert!(failed.contains("Synchronisation échouée"), "{failed}");
    assert!(failed.contains("429"), "{failed}");
    assert_eq!(standin.served(429), 2 + 3, "the first try and two retries");
    let failed_run = failed_run(&app).await;
    assert!(
        failed_run
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("429")
    );
    assert!(failed_run.finished_at.is_some());
    assert_eq!(failed_run.counts.cancelled, 0);
    assert_eq!(
        status_of(&app, "S00007").await,
        "active",
        "nothing cancelled"
    );
    let key = app.key(Scope::Search).await;
    assert_eq!(found(&app, &key, "typeContrat=CDI").await, 300);
}

async fn a_500_mid_run_fails_it_then_the_next_run_finishes_the_work(backend: Backend) {
    // One 500 on the third search: retried, the run goes on.
    let Some((standin, app)) = start(backend, offers("E", 900, Duration::hours(1)), |knobs| {
        knobs.fail_search = Some(3)
    })
    .await
    else {
        return;
    };
    sync(&app).await.unwrap();
    assert_eq!(standin.served(500), 1);
    assert_eq!(only_run(&app).await.counts.created, 900);

    // Then the service breaks for good in the middle of the next run.
    standin.remove_offer("E00899");
    standin.add_offers(
        (0..200)
            .map(|i| {
                offer(
                    &format!("N{i:04}"),
                    "13001",
                    Utc::now() - Duration::minutes(i),
                )
            })
            .collect(),
    );
    let from = standin.searches() + 3;
    standin.set(|knobs| knobs.fail_from_search = Some(from));
    let failed = sync(&app).await.unwrap_err();
    assert!(
        failed.contains("500") && failed.contains("Aucune offre n'a été annulée"),
        "{failed}"
    );
    let failed_run = failed_run(&app).await;
    assert!(
        failed_run
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("500")
    );
    assert_eq!(
        failed_run.counts.created, 200,
        "the newest pages came before the failure"
    );
    assert_eq!(
        status_of(&app, "E00899").await,
        "active",
        "a failed run cancels nothing"
    );
    let key = app.key(Scope::Search).await;
    assert_eq!(found(&app, &key, "typeContrat=CDI").await, 1100);

    standin.set(|knobs| knobs.fail_from_search = None);
    let summary = sync(&app).await.unwrap();
    assert!(summary.contains("1 annulée(s)"), "{summary}");
    assert_eq!(status_of(&app, "E00899").await, "annulee");
    assert_eq!(found(&app, &key, "typeContrat=CDI").await, 1099);
}

async fn an_offer_gone_upstream_is_cancelled_and_leaves_search(backend: Backend) {
    let Some((standin, app)) = start(backend, offers("V", 200, Duration::hours(1)), |_| {}).await
    else {
        return;
    };
    // An offer the source system sent through the API: not the sync's.
    let ingest = app.key(Scope::Ingest).await;
    let mut own = offer("API00001", "13001", Utc::now());
    own["codeAgence"] = "13013".into();
    assert_eq!(app.put_offer(&ingest, &own).await.status(), 201);
    sync(&app).await.unwrap();
    let key = app.key(Scope::Search).await;
    assert_eq!(found(&app, &key, "typeContrat=CDI").await, 201);

    standin.remove_offer("V00042");
    let summary = sync(&app).await.unwrap();
    assert!(summary.contains("1 annulée(s)"), "{summary}");
    assert_eq!(status_of(&app, "V00042").await, "annulee");
    assert_eq!(
        status_of(&app, "API00001").await,
        "active",
        "only what the sync saw"
    );
    assert_eq!(found(&app, &key, "typeContrat=CDI").await, 200);
    assert_eq!(found(&app, &key, "motsCles=V00042").await, 0);
    // Once cancelled, it is not cancelled again.
    assert!(sync(&app).await.unwrap().contains("0 annulée(s)"));

    // Seen upstream again (a pass can miss an offer when others go while it
    // pages): live again. An offer the source cancelled itself stays so.
    assert_eq!(
        app.put_status(&ingest, "V00007", "annulee").await.status(),
        200
    );
    let back = offers("V", 200, Duration::hours(1)).swap_remove(42);
    standin.add_offers(vec![back]);
    let summary = sync(&app).await.unwrap();
    assert!(summary.contains("0 annulée(s), 1 rétablie(s)"), "{summary}");
    assert_eq!(status_of(&app, "V00042").await, "active");
    assert_eq!(
        status_of(&app, "V00007").await,
        "annulee",
        "the source's word stands"
    );
    assert_eq!(found(&app, &key, "motsCles=V00042").await, 1);
    assert!(
        sync(&app)
            .await
            .unwrap()
            .contains("0 annulée(s), 0 rétablie(s)")
    );

    // Still listed upstream, but changed into what our checks refuse: the
    // last accepted version stays searchable, not cancelled as gone.
    standin.remove_offer("V00050");
    let mut refused = offers("V", 200, Duration::hours(1)).swap_remove(50);
    refused["intitule"] = Value::Null;
    standin.add_offers(vec![refused]);
    let summary = sync(&app).await.unwrap();
    assert!(
        summary.contains("1 rejetée(s)") && summary.contains("0 annulée(s)"),
        "{summary}"
    );
    assert_eq!(status_of(&app, "V00050").await, "active");
    assert_eq!(found(&app, &key, "motsCles=V00050").await, 1);
}

async fn a_run_under_way_is_not_doubled_and_an_interrupted_one_is_closed(backend: Backend) {
    let Some((standin, app)) = start(backend, offers("W", 20, Duration::hours(1)), |_| {}).await
    else {
        return;
    };
    // Another process's run, under way.
    let now = app.clock_now();
    let started = app
        .database
        .run(move |conn| runs::start(conn, "ailleurs", now))
        .await
        .unwrap();
    assert!(started);
    let refused = sync(&app).await.unwrap_err();
    assert!(refused.contains("déjà en cours"), "{refused}");
    assert_eq!(standin.searches(), 0, "nothing asked of France Travail");

    // That process died: an hour later its run is closed and a new one goes.
    app.clock
        .advance(Duration::minutes(runs::STALE_AFTER_MINUTES + 1));
    sync(&app).await.unwrap();
    let recent = app
        .database
        .run(|conn| runs::recent(conn, 10))
        .await
        .unwrap();
    let interrupted = recent.iter().find(|run| run.id == "ailleurs").unwrap();
    assert_eq!(interrupted.status(), Some(RunStatus::Failed));
    assert!(
        interrupted
            .error
            .as_deref()
            .unwrap()
            .contains("interrompue")
    );
    assert_eq!(recent[0].status(), Some(RunStatus::Succeeded));
    assert_eq!(recent[0].counts.created, 20);

    // A long run that still writes pages is not taken for interrupted,
    // however long ago it started; silent for an hour, it is, and it learns
    // so at its next page, which it does not write.
    let started = app.clock_now();
    let alive = |minutes: i64| {
        let at = started + Duration::minutes(minutes);
        app.database
            .run(move |conn| runs::alive(conn, "longue", at))
    };
    assert!(
        app.database
            .run(move |conn| runs::start(conn, "longue", started))
            .await
            .unwrap()
    );
    assert!(alive(50).await.unwrap());
    app.clock.advance(Duration::minutes(70));
    let refused = sync(&app).await.unwrap_err();
    assert!(refused.contains("déjà en cours"), "{refused}");
    app.clock.advance(Duration::minutes(41));
    sync(&app).await.unwrap();
    assert!(!alive(112).await.unwrap(), "closed: it must stop");
}

crate::scenarios_on_each_backend!(
    a_run_under_way_is_not_doubled_and_an_interrupted_one_is_closed,
    a_scope_past_the_start_index_cap_is_read_in_windows,
    a_token_revoked_mid_run_is_replaced,
    a_429_storm_is_waited_out_and_a_longer_one_fails_the_run_keeping_the_data,
    a_500_mid_run_fails_it_then_the_next_run_finishes_the_work,
    an_offer_gone_upstream_is_cancelled_and_leaves_search,
);

#[tokio::test]
async fn requests_keep_to_the_configured_rate() {
    // Eight pages at 5 a second, to a service that refuses more than 6.
    let standin = StandIn::start(offers("R", 1200, Duration::hours(1))).await;
    standin.set(|knobs| knobs.limit_per_second = Some(6));
    let app = app(Backend::Sqlite, &standin).await.unwrap();
    sync_with(&app, |s| {
        s.sync.requests_per_second = std::num::NonZeroU32::new(5).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(standin.searches(), 8);
    assert_eq!(standin.over_the_limit(), 0);
    assert!(
        standin.most_in_one_second() <= 5 + 1,
        "{}",
        standin.most_in_one_second()
    );
}

#[tokio::test]
async fn the_admin_sees_each_run_and_why_it_failed() {
    let standin = StandIn::start(offers("A", 160, Duration::hours(1))).await;
    let app = app(Backend::Sqlite, &standin).await.unwrap();
    sync(&app).await.unwrap();
    standin.set(|knobs| knobs.fail_from_search = Some(1));
    sync(&app).await.unwrap_err();

    let admin = crate::admin::admin(&app).await;
    let page = admin
        .get(format!("{}/admin/synchronisation", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for expected in [
        "réussie",
        "échouée",
        "erreur du service (500)",
        "<td>160</td>",
        "Hors territoire",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    assert!(
        html.contains(r#"href="/admin/synchronisation""#),
        "linked from the navigation"
    );
}

#[tokio::test]
async fn relais_sync_reports_in_french_and_refuses_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let unconfigured = relais_binary()
        .current_dir(dir.path())
        .arg("sync")
        .output()
        .unwrap();
    assert!(!unconfigured.status.success());
    let stderr = String::from_utf8_lossy(&unconfigured.stderr);
    assert!(stderr.contains("n'est pas configurée"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing was created");

    let standin = StandIn::start(offers("C", 200, Duration::hours(1))).await;
    let mut command = relais_binary();
    command
        .current_dir(dir.path())
        .arg("sync")
        .env("RELAIS__SYNC__API_URL", &standin.url)
        .env(
            "RELAIS__SYNC__TOKEN_URL",
            format!(
                "{}/connexion/oauth2/access_token?realm=%2Fpartenaire",
                standin.url
            ),
        )
        .env("RELAIS__SYNC__CLIENT_ID", crate::france_travail::CLIENT_ID)
        .env(
            "RELAIS__SYNC__CLIENT_SECRET",
            crate::france_travail::CLIENT_SECRET,
        );
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Synchronisation réussie") && stdout.contains("200 créée(s)"),
        "{stdout}"
    );
}
