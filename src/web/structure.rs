//! The RGC's page: the partner's accounts, the seats in use, and the actions
//! on each account. An RGC sees and acts on its own partner's accounts only.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::layout::{self, Notice};
use super::session::{self, Csrf, Moment, SignedIn};
use crate::accounts::{
    self, Account, AccountError, AccountStatus, Credentials, Partner, Person, Role,
};
use crate::audit::Actor;
use crate::auth;
use crate::clock::in_paris;
use crate::db::{Database, DbConnection};

pub use crate::accounts::ACCOUNTS_PATH;

#[derive(Deserialize)]
pub struct NewAccountForm {
    csrf: String,
    nom: String,
    fonction: String,
    courriel: String,
}

/// A form that carries nothing but its CSRF token: a button.
#[derive(Deserialize)]
pub struct ActionForm {
    pub(super) csrf: String,
}

/// The RGC's partner, or a refusal for anyone else.
pub(super) fn partner_of(account: &Account) -> Result<String, PageError> {
    match (&account.partner_id, Role::parse(&account.role)) {
        (Some(partner), Some(Role::Rgc)) => Ok(partner.clone()),
        _ => Err(PageError::Forbidden),
    }
}

pub(super) fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "actif",
        // Deactivated, or created while every seat was taken.
        "inactive" => "inactif",
        "suspended" => "suspendu (inactivité)",
        _ => "supprimé",
    }
}

/// « 4 comptes actifs sur 6 », « 1 compte actif sur 6 ».
fn seat_count(active: i64, seats: i32) -> String {
    format!("{} sur {seats}", accounts::active_accounts(active))
}

fn role_label(role: &str) -> &'static str {
    match role {
        "rgc" => "RGC",
        "admin" => "administration",
        _ => "accompagnement",
    }
}

struct Listing {
    partner: Partner,
    accounts: Vec<Account>,
    active: i64,
    /// Accounts signed in from several addresses at once.
    shared: HashSet<String>,
    /// Accounts linked to an identity at the single sign-on provider.
    linked: HashSet<String>,
}

fn listing(
    conn: &mut DbConnection,
    partner_id: &str,
    moment: Moment,
) -> Result<Listing, AccountError> {
    let partner = accounts::partner(conn, partner_id)?;
    let accounts = accounts::list_for_partner(conn, partner_id)?;
    let (active, _) = accounts::seat_usage(conn, partner_id)?;
    let mut shared = HashSet::new();
    for account in &accounts {
        if auth::live_addresses(conn, moment.now, moment.policy, &account.id)?.len() > 1 {
            shared.insert(account.id.clone());
        }
    }
    let linked = accounts::linked_to_provider(conn, partner_id)?;
    Ok(Listing {
        partner,
        accounts,
        active,
        shared,
        linked,
    })
}

fn action(csrf: &Csrf, account: &Account, path: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action={ (ACCOUNTS_PATH) "/" (account.id) "/" (path) } {
            (csrf.field())
            button.secondary type="submit" { (label) " " span.visually-hidden { "(" (account.login) ")" } }
        }
    }
}

/// A person's name, function and address, as typed or stored.
fn person_fields(name: &str, function: &str, email: &str) -> Markup {
    html! {
        label for="nom" { "Prénom et nom" }
        input #nom name="nom" type="text" autocomplete="off" required maxlength="100" value=(name);
        label for="fonction" { "Fonction" }
        input #fonction name="fonction" type="text" autocomplete="off" maxlength="100" value=(function);
        label for="courriel" { "Adresse électronique professionnelle" }
        input #courriel name="courriel" type="email" autocomplete="off" required value=(email);
    }
}

fn accounts_page(
    listing: &Listing,
    rgc: &Account,
    csrf: &Csrf,
    message: Option<(&str, bool)>,
    extra: Option<Markup>,
    typed: Option<&NewAccountForm>,
) -> Markup {
    let seats = listing.partner.terms.seats;
    // Refused, the new account's fields show what was typed.
    let (name, function, email) = typed.map_or(("", "", ""), |form| {
        (
            form.nom.as_str(),
            form.fonction.as_str(),
            form.courriel.as_str(),
        )
    });
    layout::signed_in_page(
        "Comptes de la structure",
        rgc,
        csrf,
        html! {
            h1 { "Comptes de la structure" }
            p.lead { (listing.partner.terms.name) }
            p.seats { strong { (seat_count(listing.active, seats)) } " autorisés par la convention (le compte RGC n'est pas compté)." }
            @if let Some((text, is_error)) = message {
                (layout::message(text, is_error))
            }
            @if let Some(extra) = extra { (extra) }
            table {
                caption { "Les comptes personnels de la structure" }
                thead { tr {
                    th scope="col" { "Identifiant" } th scope="col" { "Nom" } th scope="col" { "Rôle" }
                    th scope="col" { "État" } th scope="col" { "Dernière activité" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for account in &listing.accounts {
                        tr {
                            td { (account.login) }
                            td { (account.full_name.as_deref().unwrap_or("—")) }
                            td { (role_label(&account.role)) }
                            td {
                                (status_label(&account.status))
                                @if listing.shared.contains(&account.id) {
                                    br; strong.warning { "utilisé depuis plusieurs adresses en même temps" }
                                }
                                @if listing.linked.contains(&account.id) {
                                    br; "relié au fournisseur d'identité"
                                }
                            }
                            td { (account.last_activity_at.map_or_else(|| "jamais".to_owned(), |at| in_paris(at).format("%d/%m/%Y").to_string())) }
                            td {
                                @if account.status != "deleted" && (account.role == "coach" || account.id == rgc.id) {
                                    a href={ (ACCOUNTS_PATH) "/" (account.id) } { "Modifier" } " "
                                }
                                @if account.role == "coach" && account.status != "deleted" {
                                    @if account.status == "active" {
                                        (action(csrf, account, "desactivation", "Désactiver"))
                                    } @else {
                                        (action(csrf, account, "activation", "Activer"))
                                    }
                                    (action(csrf, account, "mot-de-passe", "Nouveau mot de passe"))
                                    @if listing.linked.contains(&account.id) {
                                        (action(csrf, account, "identite", "Délier l'identité"))
                                    }
                                    (action(csrf, account, "suppression", "Supprimer"))
                                }
                            }
                        }
                    }
                }
            }
            h2 #creer { "Créer un compte" }
            p.hint { "Un compte est personnel : une seule personne, jamais un poste ni une équipe." }
            form.form method="post" action=(ACCOUNTS_PATH) {
                (csrf.field())
                (person_fields(name, function, email))
                button type="submit" { "Créer le compte" }
            }
        },
    )
}

pub(super) fn credentials_box(credentials: &Credentials, heading: &str, inactive: bool) -> Markup {
    html! {
        section.credentials aria-labelledby="identifiants" {
            h2 #identifiants { (heading) }
            p { "Identifiant : " strong { (credentials.login) } }
            p { "Mot de passe provisoire : " strong.secret { (credentials.password) } }
            p.hint { "Ce mot de passe ne sera plus affiché. Remettez-le à la personne : elle choisira le sien à la première connexion." }
            @if inactive {
                p.alert { "Le compte est créé mais inactif : tous les comptes autorisés sont déjà actifs. Désactivez un compte, puis activez celui-ci." }
            }
        }
    }
}

pub async fn show(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    notice: web::Query<Notice>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let partner = partner_of(&rgc)?;
    let moment = Moment::of(&req)?;
    let listing = database
        .run(move |conn| listing(conn, &partner, moment))
        .await?;
    let message = match notice.avis.as_deref() {
        Some("active") => Some(("Le compte est activé.", false)),
        Some("modifie") => Some((
            "Les coordonnées sont enregistrées ; l'identifiant ne change pas.",
            false,
        )),
        Some("supprime") => Some((
            "Le compte est supprimé : ses données personnelles sont effacées, son historique conservé.",
            false,
        )),
        Some("desactive") => Some((
            "Le compte est désactivé : sa place est libérée, son historique conservé.",
            false,
        )),
        Some("identite-deliee") => Some((
            "Le compte est délié de son identité chez le fournisseur : à sa prochaine connexion par \
             le fournisseur, il sera relié à l'identité qui présente son adresse électronique vérifiée.",
            false,
        )),
        _ => None,
    };
    let csrf = Csrf::of(&req);
    Ok(layout::respond(
        &req,
        StatusCode::OK,
        &csrf,
        accounts_page(&listing, &rgc, &csrf, message, None, None),
    ))
}

pub async fn create(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    form: web::Form<NewAccountForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    let partner = partner_of(&rgc)?;
    let csrf = Csrf::of(&req);
    let person = Person::parse(&form.nom, &form.fonction, &form.courriel);
    let moment = Moment::of(&req)?;
    let now = moment.now;
    let actor = session::actor(&req, &rgc);
    let (outcome, listing) = database
        .run(move |conn| {
            let outcome = match person {
                Ok(person) => accounts::create_account(
                    conn,
                    now,
                    Some(&actor),
                    Some(&partner),
                    Role::Coach,
                    &person,
                ),
                Err(error) => Err(error),
            };
            Ok::<_, AccountError>((outcome, listing(conn, &partner, moment)?))
        })
        .await?;
    let refused = matches!(outcome, Err(AccountError::Invalid(_)));
    let (status, message, extra) = match outcome {
        Ok((account, credentials)) => (
            StatusCode::OK,
            Some(("Le compte est créé.", false)),
            Some(credentials_box(
                &credentials,
                "Identifiants du nouveau compte",
                account.status != "active",
            )),
        ),
        Err(AccountError::Invalid(text)) => (
            StatusCode::BAD_REQUEST,
            None,
            Some(layout::message(&text, true)),
        ),
        Err(other) => return Err(other.into()),
    };
    Ok(layout::respond(
        &req,
        status,
        &csrf,
        accounts_page(
            &listing,
            &rgc,
            &csrf,
            message,
            extra,
            refused.then_some(&*form),
        ),
    ))
}

/// What every account action starts with: the form's token checked, the
/// RGC's partner, the time, and who acts.
fn prologue(
    req: &HttpRequest,
    rgc: &Account,
    submitted_csrf: &str,
) -> Result<(String, Moment, Actor), PageError> {
    Csrf::verify(req, submitted_csrf)?;
    Ok((partner_of(rgc)?, Moment::of(req)?, session::actor(req, rgc)))
}

/// The account, if it belongs to the RGC's partner.
fn own_account(
    conn: &mut DbConnection,
    partner: &str,
    account_id: &str,
) -> Result<Account, AccountError> {
    let account = accounts::find(conn, account_id)?;
    if account.partner_id.as_deref() != Some(partner) || account.role != Role::Coach.as_str() {
        return Err(AccountError::UnknownAccount);
    }
    Ok(account)
}

pub async fn activate(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (partner, moment, actor) = prologue(&req, &rgc, &form.csrf)?;
    let now = moment.now;
    let (outcome, listing) = database
        .run(move |conn| {
            let account = own_account(conn, &partner, &path)?;
            let outcome = accounts::activate(conn, now, Some(&actor), &account.id);
            Ok::<_, AccountError>((outcome, listing(conn, &partner, moment)?))
        })
        .await?;
    match outcome {
        Ok(()) => Ok(see_other("active")),
        Err(refusal @ AccountError::NoSeat { .. }) => {
            let csrf = Csrf::of(&req);
            let text = refusal.to_string();
            let body = accounts_page(&listing, &rgc, &csrf, Some((&text, true)), None, None);
            Ok(layout::respond(&req, StatusCode::CONFLICT, &csrf, body))
        }
        Err(other) => Err(other.into()),
    }
}

/// What an account action does, once the account is known to be the RGC's.
type AccountAction =
    fn(&mut DbConnection, chrono::NaiveDateTime, Option<&Actor>, &str) -> Result<(), AccountError>;

/// An action with nothing more to show: done, then back to the list, which
/// says so with `notice`.
async fn act_then_list(
    req: HttpRequest,
    rgc: &Account,
    account_id: String,
    form: &ActionForm,
    database: &Database,
    (act, notice): (AccountAction, &str),
) -> Result<HttpResponse, PageError> {
    let (partner, moment, actor) = prologue(&req, rgc, &form.csrf)?;
    database
        .run(move |conn| {
            let account = own_account(conn, &partner, &account_id)?;
            act(conn, moment.now, Some(&actor), &account.id)
        })
        .await?;
    Ok(see_other(notice))
}

pub async fn deactivate(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let action = (accounts::deactivate as AccountAction, "desactive");
    act_then_list(req, &rgc, path.into_inner(), &form, &database, action).await
}

pub async fn unlink_identity(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let action = (
        accounts::unlink_identity as AccountAction,
        "identite-deliee",
    );
    act_then_list(req, &rgc, path.into_inner(), &form, &database, action).await
}

pub async fn reset_password(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (partner, moment, actor) = prologue(&req, &rgc, &form.csrf)?;
    let now = moment.now;
    let (credentials, listing) = database
        .run(move |conn| {
            let account = own_account(conn, &partner, &path)?;
            let credentials = accounts::reset_password(conn, now, Some(&actor), &account.id)?;
            Ok::<_, AccountError>((credentials, listing(conn, &partner, moment)?))
        })
        .await?;
    let csrf = Csrf::of(&req);
    let extra = credentials_box(&credentials, "Nouveau mot de passe provisoire", false);
    let body = accounts_page(
        &listing,
        &rgc,
        &csrf,
        Some((
            "Le mot de passe est réinitialisé ; les sessions ouvertes de ce compte sont fermées.",
            false,
        )),
        Some(extra),
        None,
    );
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

fn see_other(notice: &str) -> HttpResponse {
    layout::see_other(&format!("{ACCOUNTS_PATH}?avis={notice}"))
}

/// The accounts whose details the RGC corrects: the partner's coaches, and
/// its own.
fn editable_account(
    conn: &mut DbConnection,
    rgc: &Account,
    partner: &str,
    account_id: &str,
) -> Result<Account, AccountError> {
    let account = if account_id == rgc.id {
        accounts::find(conn, account_id)?
    } else {
        own_account(conn, partner, account_id)?
    };
    // Its details are erased: nothing left to correct.
    if account.status == AccountStatus::Deleted.as_str() {
        return Err(AccountError::UnknownAccount);
    }
    Ok(account)
}

fn details_page(
    rgc: &Account,
    csrf: &Csrf,
    account: &Account,
    details: &NewAccountForm,
    refusal: Option<&str>,
) -> Markup {
    layout::signed_in_page(
        "Modifier un compte",
        rgc,
        csrf,
        html! {
            h1 { "Coordonnées du compte " (account.login) }
            p.hint { "Corrigez une faute ou une adresse qui a changé. Pour une autre personne, créez-lui son propre compte." }
            @if let Some(text) = refusal { (layout::message(text, true)) }
            form.form method="post" action={ (ACCOUNTS_PATH) "/" (account.id) } {
                (csrf.field())
                (person_fields(&details.nom, &details.fonction, &details.courriel))
                button type="submit" { "Enregistrer" }
            }
            p { a href=(ACCOUNTS_PATH) { "Retour aux comptes" } }
        },
    )
}

/// The form of an account's details, filled as stored.
pub async fn show_details(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let partner = partner_of(&rgc)?;
    let editor = rgc.clone();
    let (account, details) = database
        .run(move |conn| {
            let account = editable_account(conn, &editor, &partner, &path)?;
            let details = accounts::details(conn, &account.id)?;
            Ok::<_, AccountError>((account, details))
        })
        .await?;
    let csrf = Csrf::of(&req);
    let stored = NewAccountForm {
        csrf: String::new(),
        nom: details.full_name,
        fonction: details.job_title,
        courriel: details.email,
    };
    let body = details_page(&rgc, &csrf, &account, &stored, None);
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

pub async fn update_details(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    form: web::Form<NewAccountForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (partner, moment, actor) = prologue(&req, &rgc, &form.csrf)?;
    let person = Person::parse(&form.nom, &form.fonction, &form.courriel);
    let editor = rgc.clone();
    let (account, outcome) = database
        .run(move |conn| {
            let account = editable_account(conn, &editor, &partner, &path)?;
            let outcome = person.and_then(|person| {
                accounts::update_person(conn, moment.now, Some(&actor), &account.id, &person)
            });
            Ok::<_, AccountError>((account, outcome))
        })
        .await?;
    match outcome {
        Ok(()) => Ok(see_other("modifie")),
        Err(AccountError::Invalid(text)) => {
            let csrf = Csrf::of(&req);
            let body = details_page(&rgc, &csrf, &account, &form, Some(&text));
            Ok(layout::respond(&req, StatusCode::BAD_REQUEST, &csrf, body))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
    confirmation: Option<String>,
}

/// Deleting asks once more: the personal details cannot be brought back.
pub async fn delete(
    req: HttpRequest,
    SignedIn(rgc): SignedIn,
    path: web::Path<String>,
    form: web::Form<DeleteForm>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let (partner, moment, actor) = prologue(&req, &rgc, &form.csrf)?;
    let confirmed = form.confirmation.as_deref() == Some("oui");
    let account = database
        .run(move |conn| {
            let account = own_account(conn, &partner, &path)?;
            if confirmed {
                accounts::delete(conn, moment.now, Some(&actor), &account.id)?;
            }
            Ok::<_, AccountError>(account)
        })
        .await?;
    if confirmed {
        return Ok(see_other("supprime"));
    }
    let csrf = Csrf::of(&req);
    let body = layout::signed_in_page(
        "Supprimer un compte",
        &rgc,
        &csrf,
        html! {
            h1 { "Supprimer le compte " (account.login) " ?" }
            p { "Les données personnelles de " (account.full_name.as_deref().unwrap_or(&account.login))
                " (nom, fonction, adresse) seront effacées. L'historique reste, et l'identifiant ne sera jamais réattribué." }
            p { "Pour libérer simplement une place, désactivez plutôt le compte." }
            form.form method="post" action={ (ACCOUNTS_PATH) "/" (account.id) "/suppression" } {
                (csrf.field())
                input type="hidden" name="confirmation" value="oui";
                button type="submit" { "Supprimer définitivement" }
            }
            p { a href=(ACCOUNTS_PATH) { "Annuler" } }
        },
    );
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

#[cfg(test)]
mod tests {
    use super::seat_count;

    #[test]
    fn seats_read_as_french() {
        assert_eq!(seat_count(4, 6), "4 comptes actifs sur 6");
        assert_eq!(seat_count(1, 6), "1 compte actif sur 6");
        assert_eq!(seat_count(0, 6), "0 compte actif sur 6");
    }
}
