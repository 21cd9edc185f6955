//! The platform admin's pages: partners, their terms, their RGC.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use maud::{Markup, html};
use serde::Deserialize;

use super::activity::ADMIN_PATH;
use super::errors::PageError;
use super::layout::{self, Notice};
use super::session::{self, Csrf, Moment, SignedIn};
use super::structure::{ActionForm, credentials_box};
use crate::accounts::{
    self, Account, AccountError, AccountStatus, Designated, Partner, PartnerTerms, Person,
    PreviousRgc, Role,
};
use crate::agencies::{self, Agency};
use crate::audit::Actor;
use crate::clock::{Clock, parse_day};
use crate::db::{Database, DbConnection};

pub use crate::accounts::PARTNERS_PATH;
const DEFAULT_SEATS: i32 = 6;

#[derive(Deserialize, Clone)]
pub struct TermsForm {
    csrf: String,
    nom: String,
    agence: String,
    debut: String,
    fin: String,
    comptes: String,
    consultation: Option<String>,
    delegation_mer: Option<String>,
    // The RGC, on creation only.
    rgc_nom: Option<String>,
    rgc_fonction: Option<String>,
    rgc_courriel: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct RgcForm {
    csrf: String,
    rgc_nom: String,
    rgc_fonction: String,
    rgc_courriel: String,
    ancien: String,
}

pub(super) fn admin_only(account: &Account) -> Result<(), PageError> {
    if account.role == Role::Admin.as_str() {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

/// A form refused: its page shows again what was typed, to be corrected
/// rather than typed again.
#[derive(Clone, Copy)]
enum Typed<'a> {
    Nothing,
    Terms(&'a TermsForm),
    Rgc(&'a RgcForm),
}

impl TermsForm {
    /// The fields of a partner not yet registered.
    fn blank() -> TermsForm {
        TermsForm {
            csrf: String::new(),
            nom: String::new(),
            agence: String::new(),
            debut: String::new(),
            fin: String::new(),
            comptes: DEFAULT_SEATS.to_string(),
            consultation: Some("on".to_owned()),
            delegation_mer: None,
            rgc_nom: None,
            rgc_fonction: None,
            rgc_courriel: None,
        }
    }

    /// The fields of terms as stored.
    fn of(terms: &PartnerTerms) -> TermsForm {
        let checked = |on: bool| on.then(|| "on".to_owned());
        TermsForm {
            nom: terms.name.clone(),
            agence: terms.agency_code.clone(),
            debut: terms.agreement_start.format("%Y-%m-%d").to_string(),
            fin: terms.agreement_end.format("%Y-%m-%d").to_string(),
            comptes: terms.seats.to_string(),
            consultation: checked(terms.offers_service),
            delegation_mer: checked(terms.referrals_service),
            ..TermsForm::blank()
        }
    }

    fn terms(&self) -> Result<PartnerTerms, AccountError> {
        let date = |raw: &str, what: &str| {
            parse_day(raw).ok_or_else(|| {
                AccountError::Invalid(format!(
                    "La date de {what} de la convention est attendue (jj/mm/aaaa)."
                ))
            })
        };
        let seats = self.comptes.trim().parse::<i32>().map_err(|_| {
            AccountError::Invalid(
                "Le nombre de comptes actifs autorisés est un nombre entier.".to_owned(),
            )
        })?;
        Ok(PartnerTerms {
            name: self.nom.clone(),
            agency_code: self.agence.clone(),
            agreement_start: date(&self.debut, "début")?,
            agreement_end: date(&self.fin, "fin")?,
            seats,
            offers_service: self.consultation.is_some(),
            referrals_service: self.delegation_mer.is_some(),
        })
    }
}

fn terms_fields(agencies: &[Agency], values: &TermsForm) -> Markup {
    html! {
        label for="nom" { "Nom de la structure" }
        input #nom name="nom" type="text" required maxlength="100" value=(values.nom);
        label for="agence" { "Agence de rattachement" }
        select #agence name="agence" required {
            @for agency in agencies {
                option value=(agency.code) selected[values.agence == agency.code] {
                    (agency.name) " (" (agency.code) ")"
                }
            }
        }
        label for="debut" { "Début de la convention" }
        input #debut name="debut" type="date" required value=(values.debut);
        label for="fin" { "Fin de la convention" }
        input #fin name="fin" type="date" required value=(values.fin);
        label for="comptes" { "Comptes actifs simultanés autorisés (hors RGC)" }
        input #comptes name="comptes" type="number" min="0" max="1000" required value=(values.comptes);
        fieldset {
            legend { "Services ouverts" }
            label.check { input type="checkbox" name="consultation" checked[values.consultation.is_some()]; " consultation des offres" }
            label.check { input type="checkbox" name="delegation_mer" checked[values.delegation_mer.is_some()]; " délégation de la mise en relation" }
        }
    }
}

/// The RGC's name, function and address, as typed (empty at first).
fn person_fields(name: &str, function: &str, email: &str) -> Markup {
    html! {
        label for="rgc_nom" { "Prénom et nom du RGC" }
        input #rgc_nom name="rgc_nom" type="text" required maxlength="100" autocomplete="off" value=(name);
        label for="rgc_fonction" { "Fonction" }
        input #rgc_fonction name="rgc_fonction" type="text" maxlength="100" autocomplete="off" value=(function);
        label for="rgc_courriel" { "Adresse électronique professionnelle" }
        input #rgc_courriel name="rgc_courriel" type="email" required autocomplete="off" value=(email);
    }
}

fn message_box(message: Option<(&str, bool)>) -> Markup {
    html! {
        @if let Some((text, is_error)) = message {
            (layout::message(text, is_error))
        }
    }
}

fn list_page(
    admin: &Account,
    csrf: &Csrf,
    summaries: &[accounts::PartnerSummary],
    agencies: &[Agency],
    message: Option<(&str, bool)>,
    extra: Option<Markup>,
    typed: Option<&TermsForm>,
) -> Markup {
    let blank = TermsForm::blank();
    let values = typed.unwrap_or(&blank);
    let person = |field: &Option<String>| field.clone().unwrap_or_default();
    layout::signed_in_page(
        "Structures partenaires",
        admin,
        csrf,
        html! {
            h1 { "Structures partenaires" }
            (message_box(message))
            @if let Some(extra) = extra { (extra) }
            table {
                caption { "Les structures et leur convention" }
                thead { tr {
                    th scope="col" { "Structure" } th scope="col" { "Agence" } th scope="col" { "Convention" }
                    th scope="col" { "Comptes actifs" } th scope="col" { "RGC" }
                } }
                tbody {
                    @for summary in summaries {
                        @let terms = &summary.partner.terms;
                        tr {
                            td { a href={ (PARTNERS_PATH) "/" (summary.partner.id) } { (terms.name) } }
                            td { (terms.agency_code) }
                            td { "du " (terms.agreement_start.format("%d/%m/%Y")) " au " (terms.agreement_end.format("%d/%m/%Y")) }
                            td { (summary.active) " sur " (terms.seats) }
                            td {
                                @match &summary.rgc {
                                    Some(rgc) => {
                                        (rgc.login)
                                        // Only the admin can bring it back.
                                        @if rgc.status != AccountStatus::Active.as_str() {
                                            " — " strong.warning { (super::structure::status_label(&rgc.status)) }
                                        }
                                    }
                                    None => "aucun",
                                }
                            }
                        }
                    }
                }
            }
            h2 #creer { "Enregistrer une structure" }
            form.form method="post" action=(PARTNERS_PATH) {
                (csrf.field())
                (terms_fields(agencies, values))
                (person_fields(&person(&values.rgc_nom), &person(&values.rgc_fonction), &person(&values.rgc_courriel)))
                button type="submit" { "Enregistrer la structure et son RGC" }
            }
        },
    )
}

fn load_list(
    conn: &mut DbConnection,
) -> Result<(Vec<accounts::PartnerSummary>, Vec<Agency>), AccountError> {
    Ok((accounts::list_partners(conn)?, agencies::list(conn)?))
}

pub async fn list(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    admin_only(&admin)?;
    let (summaries, agencies) = database.run(load_list).await?;
    let csrf = Csrf::of(&req);
    let body = list_page(&admin, &csrf, &summaries, &agencies, None, None, None);
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

pub async fn create(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    form: web::Form<TermsForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    admin_only(&admin)?;
    let now = clock.now();
    let actor = session::actor(&req, &admin);
    let form = form.into_inner();
    let typed = form.clone();
    let (outcome, (summaries, agencies)) = database
        .run(move |conn| {
            let outcome = form.terms().and_then(|terms| {
                let person = Person::parse(
                    form.rgc_nom.as_deref().unwrap_or_default(),
                    form.rgc_fonction.as_deref().unwrap_or_default(),
                    form.rgc_courriel.as_deref().unwrap_or_default(),
                )?;
                accounts::register_partner(conn, now, Some(&actor), &terms, &person)
            });
            Ok::<_, AccountError>((outcome, load_list(conn)?))
        })
        .await?;
    let csrf = Csrf::of(&req);
    let (status, message, extra) = match outcome {
        Ok(credentials) => (
            StatusCode::OK,
            Some(("La structure est enregistrée avec son RGC.", false)),
            Some(credentials_box(&credentials, "Identifiants du RGC", false)),
        ),
        Err(AccountError::Invalid(text)) => {
            let body = list_page(
                &admin,
                &csrf,
                &summaries,
                &agencies,
                Some((&text, true)),
                None,
                Some(&typed),
            );
            return Ok(layout::respond(&req, StatusCode::BAD_REQUEST, &csrf, body));
        }
        Err(other) => return Err(other.into()),
    };
    let body = list_page(&admin, &csrf, &summaries, &agencies, message, extra, None);
    Ok(layout::respond(&req, status, &csrf, body))
}

fn partner_page(
    admin: &Account,
    csrf: &Csrf,
    sheet: &PartnerSheet,
    message: Option<(&str, bool)>,
    extra: Option<Markup>,
    typed: Typed,
) -> Markup {
    let (partner, agencies) = (&sheet.partner, sheet.agencies.as_slice());
    let stored = TermsForm::of(&partner.terms);
    let terms = match typed {
        Typed::Terms(terms) => terms,
        _ => &stored,
    };
    let (name, function, email) = match typed {
        Typed::Rgc(rgc) => (
            rgc.rgc_nom.as_str(),
            rgc.rgc_fonction.as_str(),
            rgc.rgc_courriel.as_str(),
        ),
        _ => ("", "", ""),
    };
    let path = format!("{PARTNERS_PATH}/{}", partner.id);
    layout::signed_in_page(
        &partner.terms.name,
        admin,
        csrf,
        html! {
            p { a href=(PARTNERS_PATH) { "← Structures partenaires" } }
            h1 { (partner.terms.name) }
            p { a href={ (ADMIN_PATH) "?structure=" (partner.id) } { "Activité de la structure" } }
            (message_box(message))
            @if let Some(extra) = extra { (extra) }
            h2 { "Convention" }
            form.form method="post" action=(path) {
                (csrf.field())
                (terms_fields(agencies, terms))
                button type="submit" { "Enregistrer" }
            }
            h2 { "RGC" }
            @if let Some(rgc) = &sheet.rgc {
                p { "Identifiant : " strong { (rgc.login) } @if rgc.linked { " — relié au fournisseur d'identité" } }
                @if !rgc.active {
                    p.error { "Le compte du RGC n'est pas actif : il ne peut plus se connecter, ni réactiver les comptes de sa structure." }
                    form.inline method="post" action={ (path) "/rgc/reactivation" } {
                        (csrf.field())
                        button type="submit" { "Réactiver le RGC" }
                    }
                }
                @if rgc.linked {
                    p.hint { "Si l'identité du RGC a changé chez le fournisseur d'identité, déliez-la : "
                        "sa prochaine connexion par le fournisseur reliera la nouvelle." }
                    form.inline method="post" action={ (path) "/rgc/identite" } {
                        (csrf.field())
                        button.secondary type="submit" { "Délier l'identité du RGC" }
                    }
                }
            }
            h2 { "Remplacer le RGC" }
            p.hint { "La structure a toujours un et un seul RGC. Le nouveau reçoit un identifiant et un mot de passe provisoire." }
            form.form method="post" action={ (path) "/rgc" } {
                (csrf.field())
                (person_fields(name, function, email))
                fieldset {
                    legend { "L'ancien RGC" }
                    @let deactivated = matches!(typed, Typed::Rgc(rgc) if rgc.ancien == "desactive");
                    label.check { input type="radio" name="ancien" value="compte" checked[!deactivated]; " devient un compte de la structure" }
                    label.check { input type="radio" name="ancien" value="desactive" checked[deactivated]; " est désactivé" }
                }
                button type="submit" { "Désigner le nouveau RGC" }
            }
        },
    )
}

/// What the admin's page on one partner shows.
struct PartnerSheet {
    partner: Partner,
    agencies: Vec<Agency>,
    rgc: Option<RgcSheet>,
}

struct RgcSheet {
    login: String,
    /// Linked to an identity at the single sign-on provider.
    linked: bool,
    /// Able to sign in: not suspended for inactivity, nor deactivated.
    active: bool,
}

fn load_partner(conn: &mut DbConnection, id: &str) -> Result<PartnerSheet, AccountError> {
    let linked = accounts::linked_to_provider(conn, id)?;
    let rgc = accounts::current_rgc(conn, id)?.map(|rgc| RgcSheet {
        linked: linked.contains(&rgc.id),
        active: rgc.status == AccountStatus::Active.as_str(),
        login: rgc.login,
    });
    Ok(PartnerSheet {
        partner: accounts::partner(conn, id)?,
        agencies: agencies::list(conn)?,
        rgc,
    })
}

pub async fn show(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    path: web::Path<String>,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    admin_only(&admin)?;
    let sheet = database.run(move |conn| load_partner(conn, &path)).await?;
    let message = match notice.avis.as_deref() {
        Some("modifiee") => Some(("La convention est enregistrée.", false)),
        Some("rgc-reactive") => Some((
            "Le RGC est réactivé : il peut de nouveau se connecter.",
            false,
        )),
        Some("identite-deliee") => Some((
            "L'identité du RGC est déliée : sa prochaine connexion par le fournisseur d'identité reliera la nouvelle.",
            false,
        )),
        _ => None,
    };
    let csrf = Csrf::of(&req);
    let body = partner_page(&admin, &csrf, &sheet, message, None, Typed::Nothing);
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

/// The partner's page again, with why a form was refused and what it held.
fn refused(
    req: &HttpRequest,
    admin: &Account,
    sheet: &PartnerSheet,
    text: &str,
    typed: Typed,
) -> HttpResponse {
    let csrf = Csrf::of(req);
    let body = partner_page(admin, &csrf, sheet, Some((text, true)), None, typed);
    layout::respond(req, StatusCode::BAD_REQUEST, &csrf, body)
}

pub async fn update(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    path: web::Path<String>,
    form: web::Form<TermsForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    admin_only(&admin)?;
    let now = clock.now();
    let actor = session::actor(&req, &admin);
    let id = path.into_inner();
    let target = id.clone();
    let form = form.into_inner();
    let typed = form.clone();
    let (outcome, sheet) = database
        .run(move |conn| {
            let outcome = form.terms().and_then(|terms| {
                accounts::update_partner(conn, now, Some(&actor), &target, &terms)
            });
            Ok::<_, AccountError>((outcome, load_partner(conn, &target)?))
        })
        .await?;
    match outcome {
        Ok(_) => Ok(layout::see_other(&format!(
            "{PARTNERS_PATH}/{id}?avis=modifiee"
        ))),
        Err(AccountError::Invalid(text)) => {
            Ok(refused(&req, &admin, &sheet, &text, Typed::Terms(&typed)))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn replace_rgc(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    path: web::Path<String>,
    form: web::Form<RgcForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    admin_only(&admin)?;
    let now = clock.now();
    let actor = session::actor(&req, &admin);
    let id = path.into_inner();
    let form = form.into_inner();
    let typed = form.clone();
    let previous = if form.ancien == "desactive" {
        PreviousRgc::Deactivated
    } else {
        PreviousRgc::Coach
    };
    let (outcome, sheet, former) = database
        .run(move |conn| {
            let before = accounts::current_rgc(conn, &id)?;
            let outcome = Person::parse(&form.rgc_nom, &form.rgc_fonction, &form.rgc_courriel)
                .and_then(|person| {
                    accounts::replace_rgc(conn, now, Some(&actor), &id, &person, previous)
                });
            // Kept as an account, the former RGC takes a seat, if one is free.
            let former = match before {
                Some(old) if outcome.is_ok() && previous == PreviousRgc::Coach => {
                    Some(accounts::find(conn, &old.id)?)
                }
                _ => None,
            };
            Ok::<_, AccountError>((outcome, load_partner(conn, &id)?, former))
        })
        .await?;
    let csrf = Csrf::of(&req);
    let designated = match &outcome {
        Ok(Designated::Promoted { login }) => format!(
            "Le compte {login} devient celui du RGC, avec son identifiant et son mot de passe."
        ),
        _ => "Le nouveau RGC est désigné.".to_owned(),
    };
    let designated = match former {
        Some(old) if old.status != AccountStatus::Active.as_str() => format!(
            "{designated} L'ancien ({}) reste un compte de la structure, mais \
             désactivé : tous les comptes autorisés sont déjà actifs. Le nouveau RGC pourra \
             l'activer après en avoir libéré un.",
            old.login
        ),
        _ => designated,
    };
    let (status, message, extra) = match outcome {
        Ok(designated_rgc) => (
            StatusCode::OK,
            Some((designated.as_str(), false)),
            match designated_rgc {
                Designated::New(credentials) => Some(credentials_box(
                    &credentials,
                    "Identifiants du nouveau RGC",
                    false,
                )),
                Designated::Promoted { .. } => None,
            },
        ),
        Err(AccountError::Invalid(text)) => {
            return Ok(refused(&req, &admin, &sheet, &text, Typed::Rgc(&typed)));
        }
        Err(other) => return Err(other.into()),
    };
    let body = partner_page(&admin, &csrf, &sheet, message, extra, Typed::Nothing);
    Ok(layout::respond(&req, status, &csrf, body))
}

/// Unlinks the RGC from a single sign-on identity that changed at the
/// provider: only the admin can, the RGC's own page being for its accounts.
pub async fn unlink_rgc_identity(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let done = "identite-deliee";
    on_rgc(req, admin, path, form, done, |conn, now, actor, rgc| {
        accounts::unlink_identity(conn, now, Some(actor), &rgc.id)
    })
    .await
}

/// Reactivates a suspended or deactivated RGC: the RGC reactivates its
/// partner's accounts, so only the admin can reactivate the RGC's own.
pub async fn reactivate_rgc(
    req: HttpRequest,
    SignedIn(admin): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let done = "rgc-reactive";
    on_rgc(req, admin, path, form, done, |conn, now, actor, rgc| {
        accounts::activate(conn, now, Some(actor), &rgc.id)
    })
    .await
}

/// An admin's action on a partner's current RGC, then back to the partner's
/// page with `done` as its notice.
async fn on_rgc(
    req: HttpRequest,
    admin: Account,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
    done: &str,
    action: impl FnOnce(&mut DbConnection, NaiveDateTime, &Actor, &Account) -> Result<(), AccountError>
    + Send
    + 'static,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    admin_only(&admin)?;
    let now = Moment::of(&req)?.now;
    let database = req
        .app_data::<web::Data<Database>>()
        .ok_or(PageError::Unavailable)?;
    let actor = session::actor(&req, &admin);
    let id = path.into_inner();
    let partner = id.clone();
    database
        .run(move |conn| {
            let rgc = accounts::current_rgc(conn, &partner)?.ok_or(AccountError::UnknownAccount)?;
            action(conn, now, &actor, &rgc)
        })
        .await?;
    Ok(layout::see_other(&format!(
        "{PARTNERS_PATH}/{id}?avis={done}"
    )))
}
