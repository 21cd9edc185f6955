//! Logging in and out, and changing one's password (required at first login).

use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::layout;
use super::session::{self, AnySignedIn, Csrf, PASSWORD_PATH, SESSION_COOKIE, Visitor};
use crate::accounts::password::MIN_LENGTH;
use crate::auth::{self, LoginError, PasswordChangeError};
use crate::clock::Clock;
use crate::config::SessionSettings;
use crate::db::Database;

pub const LOGIN_PATH: &str = "/connexion";

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    identifiant: String,
    mot_de_passe: String,
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    actuel: String,
    nouveau: String,
    confirmation: String,
}

fn login_page(csrf: &Csrf, login: &str, error: Option<&str>) -> Markup {
    layout::page(
        "Connexion",
        html! {
            h1 { "Connexion" }
            p.lead {
                "relais ouvre aux structures partenaires de France Travail toutes les offres d'emploi "
                "des agences du territoire, publiées ou non."
            }
            p { "Connectez-vous avec l'identifiant personnel que votre responsable de gestion des comptes vous a remis." }
            @if let Some(error) = error {
                (layout::message(error, true))
            }
            form.form method="post" action=(LOGIN_PATH) {
                (csrf.field())
                label for="identifiant" { "Identifiant" }
                input #identifiant name="identifiant" type="text" autocomplete="username" required value=(login);
                label for="mot_de_passe" { "Mot de passe" }
                input #mot_de_passe name="mot_de_passe" type="password" autocomplete="current-password" required;
                button type="submit" { "Se connecter" }
            }
            p.hint { "Identifiant oublié ou compte bloqué ? Adressez-vous au responsable de gestion des comptes (RGC) de votre structure." }
        },
    )
}

pub async fn show_login(req: HttpRequest, visitor: Visitor) -> HttpResponse {
    if visitor.account.is_some() {
        return layout::see_other("/");
    }
    let csrf = Csrf::of(&req);
    layout::respond(&req, StatusCode::OK, &csrf, login_page(&csrf, "", None))
}

pub async fn submit_login(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
    settings: web::Data<SessionSettings>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    let form = form.into_inner();
    let login = form.identifiant.trim().to_owned();
    let address = session::address(&req);
    let now = clock.now();
    let attempt = login.clone();
    let outcome = database
        .run(move |conn| {
            Ok::<_, crate::db::DbError>(auth::login(
                conn,
                now,
                &attempt,
                &form.mot_de_passe,
                &address,
            ))
        })
        .await?;
    let csrf = Csrf::of(&req);
    let status = match outcome {
        Ok((token, account)) => {
            let target = if account.must_change_password {
                PASSWORD_PATH
            } else {
                "/"
            };
            return Ok(HttpResponse::SeeOther()
                .cookie(session::session_cookie(token, settings.secure_cookies))
                .insert_header((header::LOCATION, target))
                .finish());
        }
        Err(LoginError::Database(error)) => return Err(error.into()),
        Err(LoginError::Rejected) => StatusCode::UNAUTHORIZED,
        Err(LoginError::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS,
        Err(LoginError::Inactive | LoginError::OutsideAgreement { .. }) => StatusCode::FORBIDDEN,
    };
    let message = match &outcome {
        Err(error) => error.to_string(),
        Ok(_) => String::new(),
    };
    Ok(layout::respond(
        &req,
        status,
        &csrf,
        login_page(&csrf, &login, Some(&message)),
    ))
}

pub async fn logout(
    req: HttpRequest,
    form: web::Form<CsrfOnly>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    if let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) {
        let now = clock.now();
        let address = session::address(&req);
        database
            .run(move |conn| auth::logout(conn, now, &token, &address))
            .await?;
    }
    let mut removal = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    removal.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(removal)
        .insert_header((header::LOCATION, LOGIN_PATH))
        .finish())
}

fn password_page(csrf: &Csrf, first_time: bool, error: Option<&str>) -> Markup {
    layout::page(
        "Mot de passe",
        html! {
            h1 { "Choisir votre mot de passe" }
            @if first_time {
                p { "C'est votre première connexion : remplacez le mot de passe qui vous a été remis par un mot de passe personnel." }
            }
            p.hint { "Au moins " (MIN_LENGTH) " caractères, sans votre identifiant. Une courte phrase fait un bon mot de passe." }
            @if let Some(error) = error {
                (layout::message(error, true))
            }
            form.form method="post" action=(PASSWORD_PATH) {
                (csrf.field())
                label for="actuel" { "Mot de passe actuel" }
                input #actuel name="actuel" type="password" autocomplete="current-password" required;
                label for="nouveau" { "Nouveau mot de passe" }
                input #nouveau name="nouveau" type="password" autocomplete="new-password" minlength=(MIN_LENGTH) required;
                label for="confirmation" { "Nouveau mot de passe, une seconde fois" }
                input #confirmation name="confirmation" type="password" autocomplete="new-password" minlength=(MIN_LENGTH) required;
                button type="submit" { "Enregistrer" }
            }
        },
    )
}

pub async fn show_password(req: HttpRequest, AnySignedIn(account): AnySignedIn) -> HttpResponse {
    let csrf = Csrf::of(&req);
    layout::respond(
        &req,
        StatusCode::OK,
        &csrf,
        password_page(&csrf, account.must_change_password, None),
    )
}

pub async fn submit_password(
    req: HttpRequest,
    AnySignedIn(account): AnySignedIn,
    form: web::Form<PasswordForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    let csrf = Csrf::of(&req);
    let first_time = account.must_change_password;
    if form.nouveau != form.confirmation {
        let page = password_page(
            &csrf,
            first_time,
            Some("Les deux saisies du nouveau mot de passe diffèrent."),
        );
        return Ok(layout::respond(&req, StatusCode::BAD_REQUEST, &csrf, page));
    }
    let form = form.into_inner();
    let now = clock.now();
    let outcome = database
        .run(move |conn| {
            Ok::<_, crate::db::DbError>(auth::change_password(
                conn,
                now,
                &account,
                &form.actuel,
                &form.nouveau,
            ))
        })
        .await?;
    match outcome {
        Ok(()) => Ok(layout::see_other("/?avis=mot-de-passe")),
        Err(PasswordChangeError::Database(error)) => Err(error.into()),
        Err(error) => {
            let page = password_page(&csrf, first_time, Some(&error.to_string()));
            Ok(layout::respond(&req, StatusCode::BAD_REQUEST, &csrf, page))
        }
    }
}
