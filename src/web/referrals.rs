//! Putting a candidate forward from the offer page, the partner's list of
//! mises en relation and contact requests, one record, and the offer sheet.
//! A record is seen by the coach who made it and by their partner's RGC.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::STYLESHEET_PATH;
use super::errors::PageError;
use super::layout::{self, Notice};
use super::offers::{self, Proposal, SEARCH_PATH};
use super::session::{self, Csrf, Moment, SignedIn};
use crate::accounts::{self, Account, AccountError, Role};
use crate::activity::Month;
use crate::agencies::{self, Agency};
use crate::clock::in_paris;
use crate::db::{Database, DbError};
use crate::mail::MailWaker;
use crate::offers::OfferId;
use crate::referrals::candidate::FieldProblem;
use crate::referrals::{
    self, CandidateForm, Filter, Kind, Links, Listed, RECORDS_PATH, Referral, ReferralError,
    ReferralStatus,
};
use crate::text::{self, quantity};

#[derive(Deserialize)]
pub struct ProposalForm {
    csrf: String,
    #[serde(default)]
    cle: String,
    #[serde(flatten)]
    candidate: CandidateForm,
}

/// The partner of a coach or an RGC; others do not put candidates forward.
fn partner_member(account: &Account) -> Result<String, PageError> {
    match (&account.partner_id, Role::parse(&account.role)) {
        (Some(partner), Some(Role::Coach | Role::Rgc)) => Ok(partner.clone()),
        _ => Err(PageError::Forbidden),
    }
}

/// `POST /offres/{id}/mise-en-relation` and `/offres/{id}/demande-de-contact`.
pub async fn propose(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<ProposalForm>,
    database: web::Data<Database>,
    links: web::Data<Links>,
    mail: web::Data<MailWaker>,
) -> Result<HttpResponse, PageError> {
    let (path, action) = path.into_inner();
    let kind = match action.as_str() {
        "mise-en-relation" => Kind::MiseEnRelation,
        "demande-de-contact" => Kind::DemandeContact,
        _ => return Err(PageError::NotFound),
    };
    let form = form.into_inner();
    Csrf::verify(&req, &form.csrf)?;
    partner_member(&account)?;
    let view = offers::load_offer(&database, &account, &path).await?;
    let csrf = Csrf::of(&req);
    let mut proposal = Proposal {
        form: form.candidate,
        idempotency_key: form.cle,
        problems: Vec::new(),
        refusal: None,
    };
    let well_formed_key = proposal.idempotency_key.len() == 64
        && proposal
            .idempotency_key
            .chars()
            .all(|c| c.is_ascii_hexdigit());
    if !well_formed_key {
        return Err(PageError::Csrf);
    }
    let candidate = match proposal.form.parse() {
        Ok(candidate) => candidate,
        Err(problems) => {
            proposal.problems = problems;
            let body = offers::offer_page(&account, &csrf, &view, &proposal);
            return Ok(layout::respond(&req, StatusCode::BAD_REQUEST, &csrf, body));
        }
    };
    let Some(partner) = view.partner.clone() else {
        return Err(PageError::Forbidden);
    };
    let offer_id = OfferId::parse(&view.id).ok_or(PageError::NotFound)?;
    let now = Moment::of(&req)?.now;
    let address = session::address(&req);
    let key = proposal.idempotency_key.clone();
    let (coach, links) = (account.clone(), links.get_ref().clone());
    let recorded = database
        .run(move |conn| {
            Ok::<_, DbError>(referrals::put_forward(
                conn, now, &coach, &partner, &offer_id, kind, &candidate, &key, &links, &address,
            ))
        })
        .await?;
    match recorded {
        Ok(id) => {
            if kind == Kind::DemandeContact {
                mail.wake();
            }
            Ok(layout::see_other(&format!(
                "{RECORDS_PATH}/{id}?avis=enregistree"
            )))
        }
        Err(ReferralError::Database(error)) => Err(error.into()),
        Err(refusal) => {
            let status = match refusal {
                ReferralError::UnknownOffer => StatusCode::NOT_FOUND,
                ReferralError::NotInScope
                | ReferralError::OffersNotInScope
                | ReferralError::NotAPartner => StatusCode::FORBIDDEN,
                ReferralError::AlreadyPutForward
                | ReferralError::OfferInactive
                | ReferralError::FormReused => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            proposal.refusal = Some(refusal.to_string());
            if matches!(refusal, ReferralError::FormReused) {
                // The form shown again is a new one: sent, it records.
                proposal.idempotency_key = crate::secrets::random_token();
            }
            // The offer may have changed meanwhile (suspended): show it as it is now.
            let view = offers::load_offer(&database, &account, &path).await?;
            let body = offers::offer_page(&account, &csrf, &view, &proposal);
            Ok(layout::respond(&req, status, &csrf, body))
        }
    }
}

/// A record, if this person may see it: its coach, or their partner's RGC.
async fn visible_record(
    database: &Database,
    account: &Account,
    id: String,
) -> Result<(Listed, Option<Agency>, String), PageError> {
    let partner = partner_member(account)?;
    let found = database
        .run(move |conn| {
            let Some(listed) = referrals::find(conn, &id)? else {
                return Ok(None);
            };
            let agency = agencies::find(conn, &listed.referral.agency_code)?;
            let partner_name = accounts::partner(conn, &listed.referral.partner_id)
                .map(|p| p.terms.name)
                .unwrap_or_default();
            Ok::<_, DbError>(Some((listed, agency, partner_name)))
        })
        .await?;
    match found {
        Some((listed, agency, partner_name))
            if listed.referral.partner_id == partner
                && (listed.referral.coach_id == account.id || account.role == "rgc") =>
        {
            Ok((listed, agency, partner_name))
        }
        // Another partner's record does not exist, as far as this person knows.
        _ => Err(PageError::NotFound),
    }
}

pub async fn show(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<String>,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (listed, agency, _) = visible_record(&database, &account, path.into_inner()).await?;
    let referral = &listed.referral;
    let kind = referral.kind();
    let csrf = Csrf::of(&req);
    let notice = match (notice.avis.as_deref(), kind) {
        (Some("enregistree"), Kind::MiseEnRelation) => Some(
            "La mise en relation est enregistrée. Imprimez la fiche de l'offre et remettez-la à la personne.",
        ),
        (Some("enregistree"), Kind::DemandeContact) => Some(
            "La demande de contact est enregistrée : elle part vers la boîte de recrutement de l'agence. \
             Un courriel vous dira sa réponse.",
        ),
        (Some("corrigee"), _) => Some("Les données de la personne accompagnée sont corrigées."),
        _ => None,
    };
    let title = format!("{} {}", capitalised(kind.label()), referral.reference);
    let body = layout::signed_in_page(
        &title,
        &account,
        &csrf,
        html! {
            p { a href=(RECORDS_PATH) { "← Mises en relation" } }
            @if let Some(notice) = notice { (layout::message(notice, false)) }
            h1 { (title) }
            dl.details {
                dt { "État" } dd { strong { (listed.status.label()) } }
                dt { "Date" } dd { (in_paris(referral.created_at).format("%d/%m/%Y à %H:%M")) }
                @if let Some(at) = referral.answered_at { dt { "Répondue le" } dd { (in_paris(at).format("%d/%m/%Y à %H:%M")) } }
                @if let Some(reason) = referral.reason() { dt { "Motif" } dd { (reason.label()) } }
                dt { "Suivie par" } dd { (listed.coach_name) }
                dt { "Personne accompagnée" } dd { (referral.candidate_name()) }
                @if let Some(identifier) = referral.candidate_identifier() { dt { "Identifiant France Travail" } dd { (identifier) } }
                @if let Some(email) = &referral.candidate_email { dt { "Courriel (avec accord)" } dd { (email) } }
                @if let Some(phone) = &referral.candidate_phone { dt { "Téléphone (avec accord)" } dd { (phone) } }
                dt { "Offre" } dd { a href={ (SEARCH_PATH) "/" (referral.offer_id) } { (referral.offer_title) } " (" (referral.offer_id) ")" }
                @if let Some(company) = &referral.company { dt { "Entreprise" } dd { (company) } }
                @if let Some(contract) = &referral.contract { dt { "Contrat" } dd { (contract) } }
                @if let Some(place) = &referral.place { dt { "Lieu" } dd { (place) } }
                dt { "Agence" } dd { (agency.as_ref().map_or(referral.agency_code.clone(), |a| a.name.clone())) }
            }
            @if kind == Kind::MiseEnRelation {
                p { a.button href={ (RECORDS_PATH) "/" (referral.id) "/fiche" } { "Fiche de l'offre à remettre à la personne" } }
            }
            @if referral.anonymised_at.is_none() {
                p { a href={ (RECORDS_PATH) "/" (referral.id) (CORRECTION_SUFFIX) } { "Corriger les données de la personne accompagnée" } }
            }
            @if listed.status == ReferralStatus::SendFailed {
                (layout::message("Le courriel vers l'agence n'a pas pu être remis. Votre responsable de gestion des comptes peut le renvoyer depuis la page « Courriels ».", true))
            }
        },
    );
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

#[derive(Deserialize)]
pub struct CorrectionForm {
    csrf: String,
    #[serde(flatten)]
    candidate: CandidateForm,
}

/// Where a record's candidate is corrected, after the record's address.
const CORRECTION_SUFFIX: &str = "/correction";

/// What a record says of its candidate, as the correction form starts.
fn as_typed(referral: &Referral) -> CandidateForm {
    let consented = referral.candidate_email.is_some() || referral.candidate_phone.is_some();
    CandidateForm {
        nom: referral.candidate_last_name.clone(),
        prenom: referral.candidate_first_name.clone(),
        identifiant: referral.candidate_identifier.clone(),
        consentement: consented.then(|| "oui".to_owned()),
        courriel: referral.candidate_email.clone().unwrap_or_default(),
        telephone: referral.candidate_phone.clone().unwrap_or_default(),
    }
}

/// The candidate's details on a record, to correct: the right of
/// rectification goes through the partner that accompanies the person.
fn correction_page(
    account: &Account,
    csrf: &Csrf,
    referral: &Referral,
    form: &CandidateForm,
    problems: &[FieldProblem],
    refusal: Option<&str>,
) -> Markup {
    let record = format!("{RECORDS_PATH}/{}", referral.id);
    let title = format!("Corriger la personne accompagnée — {}", referral.reference);
    layout::signed_in_page(
        &title,
        account,
        csrf,
        html! {
            p { a href=(record) { "← " (capitalised(referral.kind().label())) " " (referral.reference) } }
            h1 { (title) }
            @if let Some(refusal) = refusal { (layout::message(refusal, true)) }
            @if referral.anonymised_at.is_none() {
                p { "Corrigez ce que la personne vous signale comme inexact : son nom, son prénom, son "
                    "identifiant France Travail, ou ses coordonnées. Décocher son accord efface ses coordonnées." }
                form.form method="post" action={ (record) (CORRECTION_SUFFIX) } {
                    (csrf.field())
                    (offers::candidate_fields(form, problems))
                    button type="submit" { "Enregistrer la correction" }
                }
            }
        },
    )
}

/// `GET /mises-en-relation/{id}/correction`.
pub async fn show_correction(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<String>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (listed, _, _) = visible_record(&database, &account, path.into_inner()).await?;
    let referral = &listed.referral;
    let refusal = referral
        .anonymised_at
        .map(|_| ReferralError::Anonymised.to_string());
    let csrf = Csrf::of(&req);
    let body = correction_page(
        &account,
        &csrf,
        referral,
        &as_typed(referral),
        &[],
        refusal.as_deref(),
    );
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

/// `POST /mises-en-relation/{id}/correction`.
pub async fn correct(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<String>,
    form: web::Form<CorrectionForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let mut form = form.into_inner();
    Csrf::verify(&req, &form.csrf)?;
    // The form starts with the details given; unticking the consent box
    // is the person withdrawing it: the details go with it.
    if !form.candidate.consents() {
        form.candidate.courriel.clear();
        form.candidate.telephone.clear();
    }
    let (listed, _, _) = visible_record(&database, &account, path.into_inner()).await?;
    let referral = listed.referral;
    let csrf = Csrf::of(&req);
    let refused = |status: StatusCode, problems: &[FieldProblem], refusal: Option<&str>| {
        let body = correction_page(
            &account,
            &csrf,
            &referral,
            &form.candidate,
            problems,
            refusal,
        );
        layout::respond(&req, status, &csrf, body)
    };
    let candidate = match form.candidate.parse() {
        Ok(candidate) => candidate,
        Err(problems) => return Ok(refused(StatusCode::BAD_REQUEST, &problems, None)),
    };
    let now = Moment::of(&req)?.now;
    let address = session::address(&req);
    let (actor, id) = (account.clone(), referral.id.clone());
    let corrected = database
        .run(move |conn| {
            Ok::<_, DbError>(referrals::correct_candidate(
                conn, now, &actor, &id, &candidate, &address,
            ))
        })
        .await?;
    match corrected {
        Ok(()) => Ok(layout::see_other(&format!(
            "{RECORDS_PATH}/{}?avis=corrigee",
            referral.id
        ))),
        Err(ReferralError::Database(error)) => Err(error.into()),
        Err(ReferralError::UnknownRecord) => Err(PageError::NotFound),
        Err(refusal) => Ok(refused(
            StatusCode::CONFLICT,
            &[],
            Some(&refusal.to_string()),
        )),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The printable offer sheet of a mise en relation: the document the
/// agreement requires the partner to hand to every candidate it puts forward.
pub async fn sheet(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<String>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (listed, agency, partner_name) =
        visible_record(&database, &account, path.into_inner()).await?;
    if listed.referral.kind() != Kind::MiseEnRelation {
        return Err(PageError::NotFound);
    }
    let now = Moment::of(&req)?.now;
    let address = session::address(&req);
    let (referral, viewer) = (listed.referral.clone(), account.clone());
    database
        .run(move |conn| referrals::sheet_printed(conn, now, &referral, &viewer, &address))
        .await?;
    let referral = &listed.referral;
    let offer = Value::Object(referral.offer_document());
    let contact = offer.get("contact");
    let contact_line = |key: &str| contact.and_then(|c| c.get(key)).and_then(Value::as_str);
    let body = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Fiche de l'offre " (referral.offer_id) " — relais" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body.sheet {
                main #contenu {
                    p.screen-only { a href={ (RECORDS_PATH) "/" (referral.id) } { "← Retour à la mise en relation" }
                        " · Imprimez cette page avec la commande Imprimer de votre navigateur (Ctrl+P)." }
                    header.sheet-header {
                        p.sheet-kicker { "Proposition d'offre d'emploi — France Travail et " (partner_name) }
                        h1 { (referral.offer_title) }
                        p { "Mise en relation " strong { (referral.reference) } " du " (in_paris(referral.created_at).format("%d/%m/%Y")) }
                    }
                    section.sheet-people {
                        div {
                            h2 { "Personne accompagnée" }
                            p { strong { (referral.candidate_name()) }
                                @if let Some(identifier) = referral.candidate_identifier() { br; "Identifiant France Travail : " (identifier) } }
                        }
                        div {
                            h2 { "Proposée par" }
                            p { (listed.coach_name) br; (partner_name) }
                        }
                    }
                    h2 { "L'offre" }
                    (offers::offer_details(&referral.offer_id, &offer, agency.as_ref()))
                    h2 { "Pour postuler" }
                    @if contact.is_some() {
                        ul {
                            @if let Some(name) = contact_line("nom") { li { "Contact : " (name) } }
                            @if let Some(line) = contact_line("coordonnees1") { li { (line) } }
                            @if let Some(mail) = contact_line("courriel") { li { "Courriel : " (mail) } }
                            @if let Some(phone) = contact_line("telephone") { li { "Téléphone : " (phone) } }
                            @if let Some(url) = contact_line("urlPostulation") { li { "En ligne : " (url) } }
                        }
                    }
                    p { "Présentez-vous avec cette fiche et votre CV en rappelant la référence de l'offre, "
                        strong { (referral.offer_id) } ", et celle de la mise en relation, " strong { (referral.reference) } ". "
                        "Pour toute question, adressez-vous à " (listed.coach_name) " (" (partner_name) ") ou à l'agence France Travail "
                        (agency.as_ref().map_or(referral.agency_code.clone(), |a| a.name.clone())) "." }
                    footer.sheet-footer {
                        p { "Document produit par relais le " (in_paris(now).format("%d/%m/%Y")) ", portail des partenaires de France Travail. "
                            "Les données de ce document sont confidentielles : ne le remettez qu'à la personne concernée." }
                    }
                }
            }
        }
    };
    let csrf = Csrf::of(&req);
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

#[derive(Deserialize)]
pub struct ListQuery {
    accompagnateur: Option<String>,
    statut: Option<String>,
    agence: Option<String>,
    /// "2026-11"
    mois: Option<String>,
}

pub async fn list(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    query: web::Query<ListQuery>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let partner = partner_member(&account)?;
    let is_rgc = account.role == "rgc";
    let query = query.into_inner();
    let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let month_text = given(query.mois);
    let month = month_text.as_deref().map(Month::parse);
    let status = given(query.statut);
    let unknown_status = status
        .as_deref()
        .is_some_and(|s| !ReferralStatus::CODES.iter().any(|(code, _)| *code == s));
    // A filter refused comes back with the others as they were typed.
    let refusal = if matches!(month, Some(None)) {
        Some("Le mois s'écrit mois/année ou année-mois, par exemple 11/2026 ou 2026-11.")
    } else if unknown_status {
        Some("Cet état n'existe pas : choisissez-le dans la liste.")
    } else {
        None
    };
    let month = month.flatten();
    let filter = Filter {
        partner: partner.clone(),
        // A coach sees their own records only.
        coach: if is_rgc {
            given(query.accompagnateur)
        } else {
            Some(account.id.clone())
        },
        status,
        agency: given(query.agence),
        month,
    };
    let shown = filter.clone();
    let searched = refusal.is_none();
    let (rows, coaches, agencies) = database
        .run(move |conn| {
            let rows = if searched {
                referrals::list(conn, &shown)?
            } else {
                Vec::new()
            };
            let coaches = if is_rgc {
                accounts::list_for_partner(conn, &partner)?
            } else {
                Vec::new()
            };
            Ok::<_, AccountError>((rows, coaches, agencies::list(conn)?))
        })
        .await?;
    let csrf = Csrf::of(&req);
    let agency_name = |code: &str| {
        agencies
            .iter()
            .find(|a| a.code == code)
            .map_or(code.to_owned(), |a| a.name.clone())
    };
    let body = layout::signed_in_page(
        "Mises en relation",
        &account,
        &csrf,
        html! {
            h1 { "Mises en relation et demandes de contact" }
            p.lead { @if is_rgc { "Celles de toute la structure." } @else { "Celles que vous avez faites." } }
            form.filters method="get" action=(RECORDS_PATH) {
                @if is_rgc {
                    div { label for="accompagnateur" { "Suivies par" } br;
                        select #accompagnateur name="accompagnateur" {
                            option value="" { "toute la structure" }
                            @for c in &coaches {
                                option value=(c.id) selected[filter.coach.as_deref() == Some(c.id.as_str())] { (c.full_name.as_deref().unwrap_or(&c.login)) }
                            }
                        }
                    }
                }
                div { label for="statut" { "État" } br;
                    select #statut name="statut" {
                        option value="" { "tous" }
                        @for (code, label) in ReferralStatus::CODES {
                            option value=(code) selected[filter.status.as_deref() == Some(code)] { (label) }
                        }
                    }
                }
                div { label for="agence" { "Agence" } br;
                    select #agence name="agence" {
                        option value="" { "toutes" }
                        @for a in &agencies { option value=(a.code) selected[filter.agency.as_deref() == Some(a.code.as_str())] { (a.name) } }
                    }
                }
                div { label for="mois" { "Mois" } br;
                    input #mois name="mois" type="month" value=[month_text.as_deref()] placeholder="11/2026";
                }
                div { button.secondary type="submit" { "Filtrer" } }
            }
            @if let Some(refusal) = refusal {
                (layout::message(refusal, true))
            } @else if rows.is_empty() {
                p { "Aucune mise en relation ni demande de contact ne correspond." }
            } @else {
            @if rows.len() == referrals::LIST_LIMIT {
                p.hint { "Seules les " (text::grouped(referrals::LIST_LIMIT)) " plus récentes sont affichées : affinez les filtres (mois, état, agence) pour voir les autres." }
            }
            table {
                caption { (quantity(rows.len() as u64, "résultat", "résultats")) }
                thead { tr {
                    th scope="col" { "Date" } th scope="col" { "Référence" } th scope="col" { "Offre" }
                    th scope="col" { "Agence" } th scope="col" { "Personne accompagnée" }
                    @if is_rgc { th scope="col" { "Suivie par" } }
                    th scope="col" { "État" }
                } }
                tbody {
                    @for row in &rows {
                        @let r = &row.referral;
                        tr {
                            td { (in_paris(r.created_at).format("%d/%m/%Y")) }
                            td { a href={ (RECORDS_PATH) "/" (r.id) } { (r.reference) } br; span.hint { (r.kind().label()) } }
                            td { (r.offer_title) br; span.hint { (r.offer_id) } }
                            td { (agency_name(&r.agency_code)) }
                            td { (r.candidate_name()) }
                            @if is_rgc { td { (row.coach_name) } }
                            td { (row.status.label()) @if let Some(reason) = r.reason() { br; span.hint { (reason.label()) } } }
                        }
                    }
                }
            }
            }
        },
    );
    let status = match refusal {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    Ok(layout::respond(&req, status, &csrf, body))
}
