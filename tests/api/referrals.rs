//! The coach's work: search pages, mises en relation with their offer sheet,
//! contact requests answered by the agency through the mailed link, and every
//! refusal, on both databases.

use chrono::{Duration, Utc};
use relais::accounts::{self, Person, Role};
use relais::apikeys::Scope;
use relais::audit::{self, Filter as AuditFilter};
use relais::mail::outbox;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, log_in_at};
use crate::offers::offer;
use crate::on_each_backend;
use crate::structure::{sign_in_for_good, terms};

/// A partner with its RGC and one coach, both signed in.
pub struct Desk {
    pub partner: String,
    pub rgc: Client,
    pub coach: Client,
    /// The coach's login and password, to sign in again once the clock has
    /// moved past the session's end.
    pub coach_login: (String, String),
}

pub async fn desk(app: &TestApp, name: &str, delegation: bool) -> Desk {
    let now = Utc::now().naive_utc();
    let mut conn = app.database.connection().unwrap();
    let terms = terms(name, delegation);
    let partner = accounts::create_partner(&mut conn, now, None, &terms)
        .unwrap()
        .id;
    let slug = name.to_lowercase().replace(' ', "");
    let mut person = |full_name: &str, role| {
        let person = Person::parse(
            full_name,
            "Accompagnement",
            &format!("{slug}.{}@plie.example", full_name.len()),
        )
        .unwrap();
        accounts::create_account(&mut conn, now, None, Some(&partner), role, &person).unwrap()
    };
    let (_, rgc_login) = person("Rachid Benali", Role::Rgc);
    let (_, coach_login) = person("Awa Diallo", Role::Coach);
    drop(conn);
    let (rgc, coach) = (app.browser(), app.browser());
    sign_in_for_good(app, &rgc, &rgc_login).await;
    let coach_password = sign_in_for_good(app, &coach, &coach_login).await;
    Desk {
        partner,
        rgc,
        coach,
        coach_login: (coach_login.login, coach_password),
    }
}

/// Publishes an offer through the ingest API and waits until it is searchable.
pub async fn publish(app: &TestApp, id: &str, preselection: bool) {
    let key = app.key(Scope::Ingest).await;
    let mut document = offer(id);
    document["avecPreselection"] = Value::Bool(preselection);
    assert!(app.put_offer(&key, &document).await.status().is_success());
    app.wait_for_index().await;
}

pub async fn page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let response = client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The value of a hidden field of the page's form.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).expect("the hidden field") + marker.len();
    html[start..start + 64].to_owned()
}

/// Sends the candidate form of an offer page; returns the response.
pub async fn propose(
    app: &TestApp,
    client: &Client,
    offer_id: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, html) = page(app, client, &format!("/offres/{offer_id}")).await;
    let (csrf, key) = (hidden(&html, "csrf"), hidden(&html, "cle"));
    let mut form = vec![("csrf", csrf.as_str()), ("cle", key.as_str())];
    form.extend_from_slice(fields);
    app.post_form(client, &format!("/offres/{offer_id}/{action}"), &form)
        .await
}

pub const CANDIDATE: [(&str, &str); 3] = [
    ("nom", "Durand"),
    ("prenom", "Paul"),
    ("identifiant", "1234567A"),
];

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The coach in a new session: moving the clock by months ends the last.
async fn signed_in_again(app: &TestApp, desk: &Desk) -> Client {
    let coach = app.browser();
    let (login, password) = &desk.coach_login;
    log_in_at(&coach, &app.address, login, password).await;
    coach
}

/// Records still holding this name or this identifier.
fn stored_with(app: &TestApp, last_name: &str, identifier: &str) -> i64 {
    use diesel::prelude::*;
    use relais::db::schema::referrals;
    let mut conn = app.database.connection().unwrap();
    referrals::table
        .filter(
            referrals::candidate_last_name
                .eq(last_name)
                .or(referrals::candidate_identifier.eq(identifier)),
        )
        .count()
        .get_result(&mut conn)
        .unwrap()
}

async fn referral_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    let mut conn = app.database.connection().unwrap();
    relais::db::schema::referrals::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

async fn actions(app: &TestApp, partner: &str) -> Vec<String> {
    let filter = AuditFilter {
        partner: Some(partner.to_owned()),
        ..AuditFilter::default()
    };
    let mut conn = app.database.connection().unwrap();
    audit::search(&mut conn, &filter, 100)
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect()
}

on_each_backend! {
    async fn a_coach_searches_puts_a_candidate_forward_and_prints_the_sheet(app) {
        let desk = desk(&app, "PLIE Aix", true).await;
        publish(&app, "300AAAA", false).await;

        let (status, html) = page(&app, &desk.coach, "/offres?motsCles=electricien&typeContrat=CDI&commune=Aix-en-Provence&distance=10").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("/offres/300AAAA"), "the offer is found");
        assert!(html.contains("1 offre"), "with its total");
        assert!(html.contains(r#"value="CDI" checked"#), "the chosen filter stays ticked");
        assert!(html.contains("(1)"), "facet counts are shown");
        assert!(html.contains("Bouches-du-Rhône (13)"), "departments by their names: {html}");
        // A parameter of one value is one choice, « sans préférence » at first;
        // a list, boxes to tick.
        assert!(html.contains(r#"type="radio" name="avecPreselection" value="" checked"#), "{html}");
        assert!(html.contains(r#"type="radio" name="avecPreselection" value="false""#), "{html}");
        assert!(html.contains(r#"type="checkbox" name="typeContrat" value="CDI""#), "{html}");

        // A candidate brings the offer's reference, typed in any case.
        for typed in ["/offres?motsCles=300aaaa", "/offres?motsCles=%20300AAAA%20", "/offres/300aaaa"] {
            let found = desk.coach.get(format!("{}{typed}", app.address)).send().await.unwrap();
            assert_eq!((found.status(), location(&found)), (StatusCode::SEE_OTHER, "/offres/300AAAA".to_owned()), "{typed}");
        }
        let (status, _) = page(&app, &desk.coach, "/offres?motsCles=399ZZZZ").await;
        assert_eq!(status, StatusCode::OK, "no such offer: searched as keywords");
        let (_, offer_page) = page(&app, &desk.coach, "/offres/300AAAA").await;
        assert!(offer_page.contains("Lumière Provence") && offer_page.contains("Aix Galice"));
        assert!(offer_page.contains("Enregistrer la mise en relation"));

        let response = propose(&app, &desk.coach, "300AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let record = location(&response);
        assert!(record.starts_with("/mises-en-relation/"), "{record}");
        let record = record.split('?').next().unwrap().to_owned();

        let (_, shown) = page(&app, &desk.coach, &record).await;
        assert!(shown.contains("Paul Durand") && shown.contains("1234567A") && shown.contains("enregistrée"));

        // The offer disappears: the record and its sheet stay readable.
        let ingest = app.key(Scope::Ingest).await;
        app.put_status(&ingest, "300AAAA", "annulee").await;
        let (status, sheet) = page(&app, &desk.coach, &format!("{record}/fiche")).await;
        assert_eq!(status, StatusCode::OK);
        for expected in ["Paul Durand", "1234567A", "Awa Diallo", "PLIE Aix", "Électricien", "Lumière Provence", "Pour postuler"] {
            assert!(sheet.contains(expected), "{expected}");
        }
        let (_, list) = page(&app, &desk.rgc, "/mises-en-relation").await;
        assert!(list.contains("Paul Durand") && list.contains("Awa Diallo"), "the RGC sees the coach's records");

        let trail = actions(&app, &desk.partner).await;
        assert!(trail.contains(&"referral_recorded".to_owned()));
        assert!(trail.contains(&"offer_sheet_printed".to_owned()));
    }

    async fn refusals_are_explained_and_change_nothing(app) {
        let desk = desk(&app, "PLIE Aix", true).await;
        publish(&app, "301AAAA", false).await;

        // A malformed identifier: the form comes back with the field's error.
        let bad = [("nom", "Durand"), ("prenom", "Paul"), ("identifiant", "123456")];
        let response = propose(&app, &desk.coach, "301AAAA", "mise-en-relation", &bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains("7 chiffres suivis d'une lettre"));
        assert_eq!(referral_count(&app).await, 0);
        // The form's address, left in the browser's bar and opened again.
        let reopened = desk.coach.get(format!("{}/offres/301AAAA/mise-en-relation", app.address)).send().await.unwrap();
        assert_eq!((reopened.status(), location(&reopened)), (StatusCode::SEE_OTHER, "/offres/301AAAA".to_owned()));

        // The same candidate twice for the same offer.
        let first = propose(&app, &desk.coach, "301AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        let again = propose(&app, &desk.coach, "301AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert!(again.text().await.unwrap().contains("déjà été proposée pour cette offre"));
        assert_eq!(referral_count(&app).await, 1);

        // A preselected offer takes no mise en relation.
        publish(&app, "302AAAA", true).await;
        let wrong = propose(&app, &desk.coach, "302AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        assert!(wrong.text().await.unwrap().contains("demande de contact"));

        // The offer is suspended between the page and the form.
        publish(&app, "303AAAA", false).await;
        let (_, html) = page(&app, &desk.coach, "/offres/303AAAA").await;
        let ingest = app.key(Scope::Ingest).await;
        app.put_status(&ingest, "303AAAA", "suspendue").await;
        let mut form = vec![("csrf", hidden(&html, "csrf")), ("cle", hidden(&html, "cle"))];
        form.extend(CANDIDATE.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let late = app.post_form(&desk.coach, "/offres/303AAAA/mise-en-relation", &form).await;
        assert_eq!(late.status(), StatusCode::CONFLICT);
        assert!(late.text().await.unwrap().contains("n'est plus active"));

        // A partner whose agreement does not delegate the mise en relation.
        let other = desk_without_delegation(&app).await;
        let (_, html) = page(&app, &other, "/offres/301AAAA").await;
        assert!(html.contains("ne comprend pas la délégation"));
        assert!(!html.contains(r#"name="cle""#), "no form is offered");
        let mut form = vec![("csrf", hidden(&html, "csrf")), ("cle", "a".repeat(64))];
        form.extend(CANDIDATE.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.post_form(&other, "/offres/301AAAA/mise-en-relation", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("délégation de la mise en relation"));
        assert_eq!(referral_count(&app).await, 1);

        // The admin takes « consultation des offres » out of the agreement
        // while the coach has an offer's form open: no search, no offer, no request.
        publish(&app, "309AAAA", true).await;
        let (_, html) = page(&app, &desk.coach, "/offres/309AAAA").await;
        {
            let mut conn = app.database.connection().unwrap();
            let narrowed = accounts::PartnerTerms { offers_service: false, ..terms("PLIE Aix", true) };
            accounts::update_partner(&mut conn, Utc::now().naive_utc(), None, &desk.partner, &narrowed).unwrap();
        }
        for path in ["/offres?motsCles=cuisinier", "/offres/309AAAA"] {
            let (status, body) = page(&app, &desk.coach, path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(body.contains("ne comprend pas la consultation des offres"), "{path}: {body}");
        }
        let mut form = vec![("csrf", hidden(&html, "csrf")), ("cle", hidden(&html, "cle"))];
        form.extend(CANDIDATE.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.post_form(&desk.coach, "/offres/309AAAA/demande-de-contact", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(referral_count(&app).await, 1);
    }

    async fn a_double_click_records_once(app) {
        let desk = desk(&app, "PLIE Aix", true).await;
        publish(&app, "304AAAA", false).await;
        let (_, html) = page(&app, &desk.coach, "/offres/304AAAA").await;
        let (csrf, key) = (hidden(&html, "csrf"), hidden(&html, "cle"));
        let mut form = vec![("csrf", csrf.as_str()), ("cle", key.as_str())];
        form.extend_from_slice(&CANDIDATE);
        let (first, second) = tokio::join!(
            app.post_form(&desk.coach, "/offres/304AAAA/mise-en-relation", &form),
            app.post_form(&desk.coach, "/offres/304AAAA/mise-en-relation", &form),
        );
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        assert_eq!(second.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&first), location(&second));
        assert_eq!(referral_count(&app).await, 1);

        // The same form kept and filled for someone else: nothing passes for
        // a success, and the form shown again records when sent.
        let mut other = vec![("csrf", csrf.as_str()), ("cle", key.as_str())];
        other.extend_from_slice(&[("nom", "Martin"), ("prenom", "Léa"), ("identifiant", "7654321B")]);
        let reused = app.post_form(&desk.coach, "/offres/304AAAA/mise-en-relation", &other).await;
        assert_eq!(reused.status(), StatusCode::CONFLICT);
        let html = reused.text().await.unwrap();
        assert!(html.contains("avait déjà servi pour un autre candidat"), "{html}");
        assert_eq!(referral_count(&app).await, 1);
        let fresh = hidden(&html, "cle");
        assert_ne!(fresh, key);
        other[1] = ("cle", fresh.as_str());
        let sent = app.post_form(&desk.coach, "/offres/304AAAA/mise-en-relation", &other).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        assert_eq!(referral_count(&app).await, 2);
    }

    async fn a_candidates_details_are_corrected_on_their_record_and_the_trail_keeps_none(app) {
        let desk = desk(&app, "PLIE Aix", true).await;
        publish(&app, "307AAAA", false).await;
        let record = location(&propose(&app, &desk.coach, "307AAAA", "mise-en-relation", &CANDIDATE).await);
        let record = record.split('?').next().unwrap().to_owned();
        let lea = [("nom", "Martin"), ("prenom", "Léa"), ("identifiant", "7654321B")];
        propose(&app, &desk.coach, "307AAAA", "mise-en-relation", &lea).await;
        let (_, shown) = page(&app, &desk.coach, &record).await;
        let correction = format!("{record}/correction");
        assert!(shown.contains(&format!(r#"href="{correction}""#)), "{shown}");

        let (status, form) = page(&app, &desk.coach, &correction).await;
        assert_eq!(status, StatusCode::OK);
        for typed in [r#"value="Durand""#, r#"value="Paul""#, r#"value="1234567A""#] {
            assert!(form.contains(typed), "{typed}: {form}");
        }
        let csrf = hidden(&form, "csrf");
        let send = |fields: Vec<(&'static str, &'static str)>| {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(fields);
            let client = desk.coach.clone();
            let path = correction.clone();
            let app = &app;
            async move { app.post_form(&client, &path, &form).await }
        };
        // A malformed identifier: refused, what was typed kept, nothing changed.
        let refused = send(vec![("nom", "Durand"), ("prenom", "Paul"), ("identifiant", "123")]).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let html = refused.text().await.unwrap();
        assert!(html.contains("7 chiffres suivis d'une lettre") && html.contains(r#"value="123""#), "{html}");
        // Léa's identifier: she is already put forward for this offer.
        let refused = send(vec![("nom", "Durand"), ("prenom", "Paul"), ("identifiant", "7654321B")]).await;
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        assert!(refused.text().await.unwrap().contains("déjà été proposée pour cette offre"));
        let (_, shown) = page(&app, &desk.coach, &record).await;
        assert!(shown.contains("Paul Durand") && shown.contains("1234567A"), "unchanged: {shown}");

        // The right details, the first name pasted with a combining accent.
        let corrected = send(vec![
            ("nom", "Durand-Mercier"),
            ("prenom", "E\u{301}lodie"),
            ("identifiant", "1234567c"),
            ("consentement", "oui"),
            ("telephone", "06 12 34 56 78"),
        ])
        .await;
        assert_eq!(corrected.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&corrected), format!("{record}?avis=corrigee"));
        let (_, shown) = page(&app, &desk.coach, &format!("{record}?avis=corrigee")).await;
        for expected in ["Élodie Durand-Mercier", "1234567C", "06 12 34 56 78", "sont corrigées"] {
            assert!(shown.contains(expected), "{expected}: {shown}");
        }
        assert!(!shown.contains("Paul Durand"));
        // The person withdraws consent: the box unticked, the number still
        // in its field as the form showed it, goes.
        let withdrawn = send(vec![
            ("nom", "Durand-Mercier"),
            ("prenom", "Élodie"),
            ("identifiant", "1234567C"),
            ("telephone", "06 12 34 56 78"),
        ])
        .await;
        assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
        let (_, shown) = page(&app, &desk.coach, &record).await;
        assert!(shown.contains("Élodie Durand-Mercier") && !shown.contains("06 12 34 56 78"), "{shown}");
        // The RGC may correct too; the trail says it happened, not what.
        let (status, _) = page(&app, &desk.rgc, &correction).await;
        assert_eq!(status, StatusCode::OK);
        let mut conn = app.database.connection().unwrap();
        let filter = AuditFilter { partner: Some(desk.partner.clone()), ..AuditFilter::default() };
        let corrections: Vec<_> = audit::search(&mut conn, &filter, 100).unwrap().into_iter().filter(|r| r.action == "candidate_corrected").collect();
        assert_eq!(corrections.len(), 2);
        for correction in &corrections {
            for personal in ["Durand", "Élodie", "1234567", "06 12"] {
                assert!(!correction.details.contains(personal), "{}", correction.details);
            }
        }
    }

    async fn records_stay_within_their_partner(app) {
        let aix = desk(&app, "PLIE Aix", true).await;
        let pertuis = desk(&app, "PLIE Pertuis", true).await;
        publish(&app, "305AAAA", false).await;
        let response = propose(&app, &aix.coach, "305AAAA", "mise-en-relation", &CANDIDATE).await;
        let record = location(&response).split('?').next().unwrap().to_owned();

        for path in [record.clone(), format!("{record}/fiche"), format!("{record}/correction")] {
            let (status, html) = page(&app, &pertuis.coach, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!html.contains("Durand"));
            let (status, _) = page(&app, &pertuis.rgc, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            let (status, _) = page(&app, &aix.rgc, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        let (_, list) = page(&app, &pertuis.rgc, "/mises-en-relation").await;
        assert!(!list.contains("Durand"));
    }

    async fn the_list_counts_months_in_paris_time(app) {
        use diesel::prelude::*;
        use relais::db::schema::referrals;
        let desk = desk(&app, "PLIE Aix", true).await;
        publish(&app, "310AAAA", false).await;
        let response = propose(&app, &desk.coach, "310AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        // Recorded at 00:30 on 1 December in Paris, still November in UTC.
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap().and_hms_opt(23, 30, 0).unwrap();
        let mut conn = app.database.connection().unwrap();
        diesel::update(referrals::table).set(referrals::created_at.eq(at)).execute(&mut conn).unwrap();
        let (_, december) = page(&app, &desk.rgc, "/mises-en-relation?mois=2026-12").await;
        assert!(december.contains("Durand"), "{december}");
        let (_, november) = page(&app, &desk.rgc, "/mises-en-relation?mois=2026-11").await;
        assert!(!november.contains("Durand") && november.contains("Aucune mise en relation ni demande de contact ne correspond."), "{november}");
        // Typed as people write it, where a browser shows a plain text box.
        let (_, typed) = page(&app, &desk.rgc, "/mises-en-relation?mois=12%2F2026").await;
        assert!(typed.contains("Durand"), "{typed}");
        // A month not understood: the list's page says so, the other filters kept.
        let (status, refused) = page(&app, &desk.rgc, "/mises-en-relation?mois=d%C3%A9cembre&agence=13013").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("par exemple 11/2026 ou 2026-11") && !refused.contains("Durand"), "{refused}");
        assert!(refused.contains(r#"value="décembre""#) && refused.contains(r#"value="13013" selected"#), "{refused}");
        let (status, refused) = page(&app, &desk.coach, "/mises-en-relation?statut=zzz").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("Cet état n'existe pas") && refused.contains("Filtrer"), "{refused}");
    }

    async fn a_contact_request_reaches_the_agency_which_answers_once(app) {
        let desk = desk(&app, "PLIE Aix", false).await;
        publish(&app, "306AAAA", true).await;
        let mut fields = CANDIDATE.to_vec();
        fields.extend([("consentement", "oui"), ("telephone", "06 12 34 56 78")]);
        let response = propose(&app, &desk.coach, "306AAAA", "demande-de-contact", &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let record = location(&response).split('?').next().unwrap().to_owned();

        let messages = app.database.run(outbox::list).await.unwrap();
        assert_eq!(messages.len(), 1);
        let mail = &messages[0];
        assert_eq!(mail.recipient, "recrutementaixgalice@pole-emploi.net");
        for personal in ["Durand", "Paul", "1234567A", "06 12"] {
            assert!(!mail.body.contains(personal) && !mail.subject.contains(personal), "{personal} in the mail");
        }
        assert!(mail.body.contains("306AAAA") && mail.body.contains("PLIE Aix") && mail.body.contains("Awa Diallo"));
        let link = agency_link(&mail.body);
        let delivered = app.run_job("deliver-mail").await;
        let errors: Vec<_> = app.database.run(outbox::list).await.unwrap().into_iter().filter_map(|m| m.last_error).collect();
        assert!(delivered.starts_with("1 courriel(s) envoyé(s)"), "{delivered}: {errors:?}");
        let (_, shown) = page(&app, &desk.coach, &record).await;
        assert!(shown.contains("envoyée"), "the request is sent: {shown}");

        // The link opens that request, for anyone who holds it.
        let agency = app.browser();
        let (status, html) = page(&app, &agency, &link).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Durand") && html.contains("06 12 34 56 78"));
        let mut tampered = link.clone();
        tampered.pop();
        tampered.push(if link.ends_with('0') { '1' } else { '0' });
        let (status, html) = page(&app, &agency, &tampered).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("n'est pas valable") && !html.contains("Durand"));

        // A reason only goes with « non retenue »; then one answer only.
        let csrf = hidden(&html_of(&app, &agency, &link).await, "csrf");
        let refused = app.post_form(&agency, &link, &[("csrf", &csrf), ("reponse", "candidature_non_retenue")]).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let answered = app.post_form(&agency, &link, &[("csrf", &csrf), ("reponse", "candidat_convoque")]).await;
        assert_eq!(answered.status(), StatusCode::SEE_OTHER);
        let second = app.post_form(&agency, &link, &[("csrf", &csrf), ("reponse", "offre_pourvue")]).await;
        assert_eq!(second.status(), StatusCode::CONFLICT);
        let html = second.text().await.unwrap();
        assert!(html.contains("déjà été donnée") && html.contains("candidat convoqué"));

        let (_, list) = page(&app, &desk.coach, "/mises-en-relation").await;
        assert!(list.contains("répondue : candidat convoqué"));
        let (_, filtered) = page(&app, &desk.rgc, "/mises-en-relation?statut=repondue&agence=13013").await;
        assert!(filtered.contains("Durand"));
        let (_, other_status) = page(&app, &desk.rgc, "/mises-en-relation?statut=en_echec").await;
        assert!(!other_status.contains("Durand"));
        let messages = app.database.run(outbox::list).await.unwrap();
        let told = messages.iter().find(|m| m.recipient.starts_with("plieaix.")).expect("the coach is told");
        assert!(told.body.contains("candidat convoqué") && !told.body.contains("Durand"));
        let trail = actions(&app, &desk.partner).await;
        assert!(trail.contains(&"contact_requested".to_owned()) && trail.contains(&"request_answered".to_owned()));

        // Thirty days on, the link no longer opens anything.
        app.clock.advance(Duration::days(31));
        let (status, html) = page(&app, &app.browser(), &link).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("a expiré"));
    }

    async fn an_agency_link_opens_its_own_request_only(app) {
        let desk = desk(&app, "PLIE Aix", false).await;
        publish(&app, "307AAAA", true).await;
        publish(&app, "308AAAA", true).await;
        propose(&app, &desk.coach, "307AAAA", "demande-de-contact", &CANDIDATE).await;
        let other = [("nom", "Martin"), ("prenom", "Léa"), ("identifiant", "7654321B")];
        propose(&app, &desk.coach, "308AAAA", "demande-de-contact", &other).await;
        let messages = app.database.run(outbox::list).await.unwrap();
        let link_of = |offer: &str| agency_link(&messages.iter().find(|m| m.body.contains(offer)).unwrap().body);
        let (first, second) = (link_of("307AAAA"), link_of("308AAAA"));
        let (_, html) = page(&app, &app.browser(), &first).await;
        assert!(html.contains("Durand") && !html.contains("Martin"));
        let (_, html) = page(&app, &app.browser(), &second).await;
        assert!(html.contains("Martin") && !html.contains("Durand"));
        // An answer through one link touches that request only.
        let agency = app.browser();
        let csrf = hidden(&html_of(&app, &agency, &first).await, "csrf");
        app.post_form(&agency, &first, &[("csrf", &csrf), ("reponse", "cv_demande")]).await;
        let (_, html) = page(&app, &agency, &second).await;
        assert!(html.contains("Enregistrer la réponse"), "the other request is still unanswered");
    }

    async fn a_candidates_data_is_erased_months_after_their_last_request(app) {
        let desk = desk(&app, "PLIE Aix", true).await;
        for id in ["306AAAA", "306BBBB", "306CCCC"] {
            publish(&app, id, false).await;
        }
        let lea = [("nom", "Martin"), ("prenom", "Léa"), ("identifiant", "7654321B")];
        let record = location(&propose(&app, &desk.coach, "306AAAA", "mise-en-relation", &CANDIDATE).await);
        let record = record.split('?').next().unwrap().to_owned();
        propose(&app, &desk.coach, "306BBBB", "mise-en-relation", &CANDIDATE).await;
        propose(&app, &desk.coach, "306AAAA", "mise-en-relation", &lea).await;
        // Four months on, Léa is put forward again: her six months start again.
        app.clock.advance(Duration::days(120));
        let coach = signed_in_again(&app, &desk).await;
        propose(&app, &coach, "306CCCC", "mise-en-relation", &lea).await;
        assert_eq!(referral_count(&app).await, 4);

        // 180 days after Paul's requests: not yet six months.
        app.clock.advance(Duration::days(60));
        assert_eq!(app.run_job("anonymise-candidates").await, "0 personne(s) accompagnée(s) anonymisée(s), dans 0 mise(s) en relation ou demande(s).");
        app.clock.advance(Duration::days(10));
        assert_eq!(app.run_job("anonymise-candidates").await, "1 personne(s) accompagnée(s) anonymisée(s), dans 2 mise(s) en relation ou demande(s).");
        assert_eq!(app.run_job("anonymise-candidates").await, "0 personne(s) accompagnée(s) anonymisée(s), dans 0 mise(s) en relation ou demande(s).", "once");
        assert_eq!(referral_count(&app).await, 4, "the records stay, for the activity counts");
        assert_eq!(stored_with(&app, "Durand", "1234567A"), 0, "nothing of Paul is left");
        assert_eq!(stored_with(&app, "Martin", "7654321B"), 2, "Léa's last request is recent");

        let coach = signed_in_again(&app, &desk).await;
        let (_, shown) = page(&app, &coach, &record).await;
        assert!(shown.contains("Personne anonymisée le") && !shown.contains("Durand") && !shown.contains("1234567A"), "{shown}");
        let (_, sheet) = page(&app, &coach, &format!("{record}/fiche")).await;
        assert!(sheet.contains("Personne anonymisée le") && !sheet.contains("Durand"));
        // Nothing is left to correct.
        let (status, correction) = page(&app, &coach, &format!("{record}/correction")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(correction.contains("il n'y a plus rien à corriger") && !correction.contains("Durand"), "{correction}");
        let form = [("csrf", hidden(&correction, "csrf")), ("nom", "Durand".to_owned()), ("prenom", "Paul".to_owned()), ("identifiant", "1234567A".to_owned())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.post_form(&coach, &format!("{record}/correction"), &form).await;
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        assert_eq!(stored_with(&app, "Durand", "1234567A"), 0, "nothing written back");
        let (_, list) = page(&app, &coach, "/mises-en-relation").await;
        assert!(list.contains("Léa Martin") && !list.contains("Paul Durand"));
        assert!(actions(&app, &desk.partner).await.contains(&"candidates_anonymised".to_owned()));
        let (_, notice) = page(&app, &coach, "/confidentialite").await;
        assert!(notice.contains("effacées 6 mois après la dernière demande"), "the notice states the configured period");
        // Paul may be put forward for the same offer again: a new record.
        let again = propose(&app, &coach, "306AAAA", "mise-en-relation", &CANDIDATE).await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        assert_ne!(location(&again).split('?').next().unwrap(), record);

        // Six months after Léa's last request, hers go too; Paul's new one stays.
        app.clock.advance(Duration::days(130));
        assert_eq!(app.run_job("anonymise-candidates").await, "1 personne(s) accompagnée(s) anonymisée(s), dans 2 mise(s) en relation ou demande(s).");
        assert_eq!(stored_with(&app, "Martin", "7654321B"), 0);
        assert_eq!(stored_with(&app, "Durand", "1234567A"), 1);
    }

    async fn the_search_page_explains_bad_input(app) {
        let desk = desk(&app, "PLIE Aix", true).await;
        // In the page's words: its fields' names, not the API's parameters
        // nor its lists.
        for (query, expected) in [
            ("commune=Nulle-Part-sur-Mer", "introuvable"),
            ("page=zero", "numéro de page"),
            ("page=152", "La recherche s'arrête à la page 151 : précisez-la"),
            ("typeContrat=XYZ", "Type de contrat : « XYZ » inconnu."),
            ("motsCles=a", "Mots-clés : chaque mot-clé compte au moins 2 caractères (« a »)."),
            ("motsCles=le", "Mots-clés : aucun mot à chercher (les mots très courants"),
            ("codeROME=cuisinier", "Métier (code ROME) : « cuisinier » inconnu ; un code ROME s'écrit d'une lettre majuscule et de quatre chiffres"),
            ("codeROME=J9999", "Métier (code ROME) : « J9999 » inconnu ; aucun métier du répertoire ROME n'a ce code."),
            ("experience=7", "Expérience : 0, 1, 2 ou 3 est attendu."),
            ("distance=20", "Rayon : il s'applique autour d'une « commune », qui manque."),
            ("couleur=bleu", "un critère que le formulaire ne connaît pas (« couleur »)"),
        ] {
            let (status, html) = page(&app, &desk.coach, &format!("/offres?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert!(html.contains(expected), "{query}: {expected}");
            for api_wording in ["Valeur du paramètre", "/api/v1/"] {
                assert!(!html.contains(api_wording), "{query}: {api_wording}");
            }
        }
        // The last page the message names is open; a ROME code is read
        // whatever its case.
        for query in ["page=151", "codeROME=j1501", "codeROME=j1501,%20k2204%20"] {
            let (status, _) = page(&app, &desk.coach, &format!("/offres?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}");
        }

        // Of communes sharing a name, the territory's is searched around
        // (Villars in the Vaucluse, not the larger one in the Loire), and
        // the field shows which, department included.
        // Names carry their article, typed or not.
        for (typed, shown) in [
            ("Villars", "Villars (84)"),
            ("Roussillon", "Roussillon (84)"),
            ("Lyon", "Lyon (69)"),
            ("Ciotat", "La Ciotat (13)"),
            ("la%20roque%20d%27antheron", "La Roque-d'Anthéron (13)"),
        ] {
            let (status, html) = page(&app, &desk.coach, &format!("/offres?commune={typed}&distance=0")).await;
            assert_eq!(status, StatusCode::OK, "{typed}");
            assert!(html.contains(&format!(r#"value="{shown}""#)), "{typed}: {shown}");
            assert!(!html.contains("Vouliez-vous dire"), "{typed}");
        }
        // Typed with an article, « Les Saintes » finds Saintes (17): the
        // territory's Saintes-Maries-de-la-Mer is offered.
        let (_, html) = page(&app, &desk.coach, "/offres?commune=Les%20Saintes").await;
        assert!(html.contains(">Saintes-Maries-de-la-Mer (13)</a> ?"), "{html}");
        // Articles aside, « Tour » finds La Tour (74), the largest, and
        // offers La Tour-d'Aigues.
        let (_, html) = page(&app, &desk.coach, "/offres?commune=Tour").await;
        assert!(html.contains(r#"value="La Tour (74)""#), "{html}");
        // Suggestions in alphabetical order, accents aside.
        let at = |option: &str| html.find(&format!(r#"<option value="{option}">"#)).expect(option);
        assert!(at("Bédarrides (84)") < at("Belcodène (13)"));
        assert!(at("Éguilles (13)") < at("Ensuès-la-Redonne (13)"));
        assert!(html.contains(">La Tour-d'Aigues (84)</a> ?"), "{html}");
        // A name found only elsewhere, that begins a commune of the
        // territory: the search runs where asked, and offers the other.
        let (status, html) = page(&app, &desk.coach, "/offres?motsCles=electricien&commune=Salon").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"value="Salon (24)""#), "{html}");
        assert!(
            html.contains(r#"Recherche autour de Salon (24), hors du territoire. Vouliez-vous dire <a href="/offres?motsCles=electricien&amp;commune=13103">Salon-de-Provence (13)</a> ?"#),
            "{html}"
        );

        // A page past the last: said so, with the way back.
        publish(&app, "311AAAA", false).await;
        let (status, html) = page(&app, &desk.coach, "/offres?motsCles=electricien&page=4").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Il n'y a pas de page 4 : ces offres tiennent en 1 page."), "{html}");
        assert!(!html.contains("Offres 61"), "{html}");
    }
}

async fn desk_without_delegation(app: &TestApp) -> Client {
    desk(app, "Mission locale", false).await.coach
}

async fn html_of(app: &TestApp, client: &Client, path: &str) -> String {
    page(app, client, path).await.1
}

/// The path of the link an agency receives, from a mail's body.
pub fn agency_link(body: &str) -> String {
    let start = body.find("/agence/demandes/").expect("a link in the mail");
    body[start..].split_whitespace().next().unwrap().to_owned()
}
