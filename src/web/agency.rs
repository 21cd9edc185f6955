//! The page an agency's recruitment team reaches from the mail of a contact
//! request. The link is the only key: it opens that one request, until it
//! expires; the team answers once, from a fixed list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::layout::{self, Notice};
use super::session::{self, Csrf, Moment};
use crate::accounts::{self, AccountError};
use crate::agencies::{self, Agency};
use crate::clock::in_paris;
use crate::db::Database;
use crate::mail::MailWaker;
use crate::referrals::{self, AGENCY_PATH, Answer, Answered, LinkState, Links, Listed, Reason};

const EXPIRED: &str = "Ce lien a expiré : il n'ouvre la demande que pendant une durée limitée. \
                       Si la demande vous concerne encore, contactez l'accompagnateur dont le nom figure dans le courriel.";
const INVALID: &str = "Ce lien n'est pas valable : il est incomplet ou a été modifié. \
                       Copiez-le en entier depuis le courriel reçu, ou contactez l'accompagnateur qui a fait la demande.";

/// The request, its agency and its partner's name, for a valid link.
async fn open(
    req: &HttpRequest,
    database: &Database,
    token: String,
) -> Result<(Listed, Option<Agency>, String), PageError> {
    let now = Moment::of(req)?.now;
    let found = database
        .run(move |conn| {
            let state = referrals::by_link(conn, now, &token)?;
            let LinkState::Valid(listed) = state else {
                return Ok::<_, AccountError>(Err(state));
            };
            let agency = agencies::find(conn, &listed.referral.agency_code)?;
            let partner = accounts::partner(conn, &listed.referral.partner_id)?;
            Ok(Ok((*listed, agency, partner.terms.name)))
        })
        .await?;
    found.map_err(|state| match state {
        LinkState::Expired => PageError::Refused(EXPIRED.to_owned()),
        _ => PageError::Refused(INVALID.to_owned()),
    })
}

pub async fn show(
    req: HttpRequest,
    path: web::Path<String>,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let token = path.into_inner();
    let (listed, agency, partner) = open(&req, &database, token.clone()).await?;
    let csrf = Csrf::of(&req);
    let message = (notice.avis.as_deref() == Some("repondue")).then_some((
        "Votre réponse est enregistrée ; l'accompagnateur en est prévenu.",
        false,
    ));
    let body = request_page(&csrf, &token, &listed, agency.as_ref(), &partner, message);
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

#[derive(Deserialize)]
pub struct AnswerForm {
    csrf: String,
    #[serde(default)]
    reponse: String,
    #[serde(default)]
    motif: String,
}

pub async fn submit(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AnswerForm>,
    database: web::Data<Database>,
    links: web::Data<Links>,
    mail: web::Data<MailWaker>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    let token = path.into_inner();
    let (listed, agency, partner) = open(&req, &database, token.clone()).await?;
    let csrf = Csrf::of(&req);
    let answer = Answer::parse(&form.reponse);
    let reason = Reason::parse(&form.motif);
    let problem = match (answer, reason) {
        (None, _) => Some("Choisissez une réponse dans la liste."),
        (Some(Answer::NotRetained), None) => Some(
            "Une candidature non retenue s'accompagne de son motif : choisissez-le dans la liste.",
        ),
        (Some(answer), Some(_)) if answer != Answer::NotRetained => {
            Some("Un motif ne s'indique que pour une candidature non retenue.")
        }
        _ => None,
    };
    let Some(answer) = answer.filter(|_| problem.is_none()) else {
        let body = request_page(
            &csrf,
            &token,
            &listed,
            agency.as_ref(),
            &partner,
            problem.map(|p| (p, true)),
        );
        return Ok(layout::respond(&req, StatusCode::BAD_REQUEST, &csrf, body));
    };
    let now = Moment::of(&req)?.now;
    let address = session::address(&req);
    let (links, stored_token) = (links.get_ref().clone(), token.clone());
    let outcome = database
        .run(move |conn| {
            referrals::answer(conn, now, &stored_token, answer, reason, &links, &address)
        })
        .await?;
    match outcome {
        Answered::Recorded => {
            mail.wake();
            Ok(layout::see_other(&format!(
                "{AGENCY_PATH}/{token}?avis=repondue"
            )))
        }
        Answered::AlreadyAnswered => {
            // Show the answer that stands.
            let (listed, agency, partner) = open(&req, &database, token.clone()).await?;
            let body = request_page(
                &csrf,
                &token,
                &listed,
                agency.as_ref(),
                &partner,
                Some((
                    "Une réponse a déjà été donnée à cette demande : c'est elle qui est conservée.",
                    true,
                )),
            );
            Ok(layout::respond(&req, StatusCode::CONFLICT, &csrf, body))
        }
        Answered::LinkExpired => Err(PageError::Refused(EXPIRED.to_owned())),
        Answered::LinkUnknown => Err(PageError::Refused(INVALID.to_owned())),
    }
}

fn request_page(
    csrf: &Csrf,
    token: &str,
    listed: &Listed,
    agency: Option<&Agency>,
    partner: &str,
    message: Option<(&str, bool)>,
) -> Markup {
    let r = &listed.referral;
    let agency_name = agency.map_or(r.agency_code.as_str(), |a| a.name.as_str());
    layout::page(
        &format!("Demande de contact {}", r.reference),
        html! {
            h1 { "Demande de contact " (r.reference) }
            p.lead { (partner) " sollicite l'équipe entreprise de l'agence France Travail " (agency_name) " pour une offre avec présélection." }
            @if let Some((text, is_error)) = message { (layout::message(text, is_error)) }
            h2 { "L'offre" }
            dl.details {
                dt { "Référence" } dd { (r.offer_id) }
                dt { "Intitulé" } dd { (r.offer_title) }
                @if let Some(company) = &r.company { dt { "Entreprise" } dd { (company) } }
                @if let Some(contract) = &r.contract { dt { "Contrat" } dd { (contract) } }
                @if let Some(place) = &r.place { dt { "Lieu" } dd { (place) } }
            }
            h2 { "Le candidat" }
            @if let Some(identifier) = r.candidate_identifier() {
                dl.details {
                    dt { "Nom" } dd { (r.candidate_last_name) }
                    dt { "Prénom" } dd { (r.candidate_first_name) }
                    dt { "Identifiant France Travail" } dd { (identifier) }
                    @if let Some(email) = &r.candidate_email { dt { "Courriel (avec son accord)" } dd { (email) } }
                    @if let Some(phone) = &r.candidate_phone { dt { "Téléphone (avec son accord)" } dd { (phone) } }
                }
            } @else {
                p { (r.candidate_name()) }
            }
            h2 { "La demande" }
            dl.details {
                dt { "Envoyée le" } dd { (in_paris(r.created_at).format("%d/%m/%Y à %H:%M")) }
                dt { "Par" } dd { (listed.coach_name) ", " (partner) }
            }
            h2 #reponse { "Votre réponse" }
            @match r.answer() {
                Some(answer) => {
                    p { strong { (answer.label()) }
                        @if let Some(reason) = r.reason() { " — motif : " (reason.label()) }
                        @if let Some(at) = r.answered_at { ", le " (in_paris(at).format("%d/%m/%Y à %H:%M")) } }
                }
                None => (answer_form(csrf, token)),
            }
        },
    )
}

fn answer_form(csrf: &Csrf, token: &str) -> Markup {
    html! {
        form.form method="post" action={ (AGENCY_PATH) "/" (token) } {
            (csrf.field())
            fieldset {
                legend { "Réponse (une seule, elle est transmise à l'accompagnateur)" }
                @for answer in Answer::ALL {
                    label.check {
                        input type="radio" name="reponse" value=(answer.as_str()) required;
                        " " (answer.label())
                    }
                }
            }
            label for="motif" { "Motif, pour une candidature non retenue" }
            select #motif name="motif" {
                option value="" { "—" }
                @for reason in Reason::ALL { option value=(reason.as_str()) { (reason.label()) } }
            }
            button type="submit" { "Enregistrer la réponse" }
        }
    }
}
