//! Logging in and out, and changing one's password (required at first login).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::layout;
use super::session::{
    self, AnySignedIn, Csrf, PASSWORD_PATH, SESSION_COOKIE, SignInMotive, Visitor,
};
use crate::accounts::password::MIN_LENGTH;
use crate::auth::sso::{self, SsoError};
use crate::auth::{self, LoginError, PasswordChangeError};
use crate::clock::Clock;
use crate::config::SessionSettings;
use crate::db::{Database, DbError};

pub use crate::auth::LOGIN_PATH;

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    identifiant: String,
    mot_de_passe: String,
    /// The page asked for before signing in.
    suite: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    suite: Option<String>,
    /// Why the page is shown (see `SignInMotive`).
    motif: Option<String>,
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

/// The login page; `sso` is the provider's name when single sign-on is on.
fn login_page(
    csrf: &Csrf,
    sso: Option<&str>,
    login: &str,
    then: &str,
    notice: Option<(&str, bool)>,
) -> Markup {
    layout::page(
        "Connexion",
        html! {
            h1 { "Connexion" }
            p.lead {
                "relais ouvre aux structures partenaires de France Travail toutes les offres d'emploi "
                "des agences du territoire, publiées ou non."
            }
            p { "Connectez-vous avec l'identifiant personnel que votre responsable de gestion des comptes vous a remis." }
            @if let Some((text, is_error)) = notice {
                (layout::message(text, is_error))
            }
            form.form method="post" action=(LOGIN_PATH) {
                (csrf.field())
                @if then != "/" { input type="hidden" name="suite" value=(then); }
                label for="identifiant" { "Identifiant" }
                input #identifiant name="identifiant" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value=(login);
                label for="mot_de_passe" { "Mot de passe" }
                input #mot_de_passe name="mot_de_passe" type="password" autocomplete="current-password" required;
                button type="submit" { "Se connecter" }
            }
            @if let Some(provider) = sso {
                p.alternative { "ou" }
                p { a.button.provider href=(session::carrying_return(sso::START_PATH, then, None)) { "Se connecter avec " (provider) } }
                p.hint {
                    "La première fois, relais relie votre identité " (provider)
                    " au compte ouvert par votre RGC à la même adresse électronique professionnelle."
                }
            }
            p.hint { "Identifiant oublié ou compte bloqué ? Adressez-vous au responsable de gestion des comptes (RGC) de votre structure." }
        },
    )
}

pub async fn show_login(
    req: HttpRequest,
    visitor: Visitor,
    query: web::Query<LoginQuery>,
    sso: web::Data<Sso>,
) -> HttpResponse {
    let then = session::return_to(query.suite.as_deref());
    if visitor.account.is_some() {
        return layout::see_other(then);
    }
    let csrf = Csrf::of(&req);
    let motive = query.motif.as_deref().and_then(SignInMotive::parse);
    let notice = motive.map(|motive| {
        let lost = motive == SignInMotive::EndedBeforeSending;
        (motive.message(), lost)
    });
    let page = login_page(&csrf, provider_name(&sso), "", then, notice);
    layout::respond(&req, StatusCode::OK, &csrf, page)
}

fn provider_name(sso: &Sso) -> Option<&str> {
    sso.as_ref().map(|p| p.display_name.as_str())
}

pub async fn submit_login(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
    settings: web::Data<SessionSettings>,
    sso: web::Data<Sso>,
) -> Result<HttpResponse, PageError> {
    Csrf::verify(&req, &form.csrf)?;
    let form = form.into_inner();
    let suite = form.suite.clone();
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
                session::return_to(suite.as_deref())
            };
            return Ok(signed_in(token, &settings, target));
        }
        Err(LoginError::Database(error)) => return Err(error.into()),
        Err(ref error) => refusal_status(error),
    };
    let message = match &outcome {
        Err(error) => error.to_string(),
        Ok(_) => String::new(),
    };
    let then = session::return_to(suite.as_deref());
    let page = login_page(
        &csrf,
        provider_name(&sso),
        &login,
        then,
        Some((&message, true)),
    );
    Ok(layout::respond(&req, status, &csrf, page))
}

fn refusal_status(error: &LoginError) -> StatusCode {
    match error {
        LoginError::Rejected => StatusCode::UNAUTHORIZED,
        LoginError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        LoginError::Inactive | LoginError::InactiveRgc | LoginError::OutsideAgreement { .. } => {
            StatusCode::FORBIDDEN
        }
        LoginError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The redirect that hands over a new session's cookie.
fn signed_in(token: String, settings: &SessionSettings, target: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .cookie(session::session_cookie(token, settings.secure_cookies))
        .insert_header((header::LOCATION, target))
        .finish()
}

/// Single sign-on, when configured.
type Sso = Option<sso::Provider>;

/// Ties a sign-in to the browser that started it: the `state` the provider
/// hands back must be this cookie's, so nobody can slip their own sign-in
/// into someone else's browser.
const SSO_STATE_COOKIE: &str = "relais_sso";

/// The page to come back to once the provider has answered.
const SSO_RETURN_COOKIE: &str = "relais_sso_suite";

#[derive(Deserialize)]
pub struct ProviderAnswer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The provider that answers (RFC 9207), when it says.
    iss: Option<String>,
}

/// Sends the person to the provider.
pub async fn start_sso(
    req: HttpRequest,
    query: web::Query<LoginQuery>,
    sso: web::Data<Sso>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
    settings: web::Data<SessionSettings>,
) -> Result<HttpResponse, PageError> {
    let Some(provider) = sso.as_ref() else {
        return Err(PageError::NotFound);
    };
    let then = session::return_to(query.suite.as_deref());
    let now = clock.now();
    let (url, pending) = match provider.start().await {
        Ok(started) => started,
        Err(error) => return sso_refusal(&req, provider, &database, now, error, then).await,
    };
    let state = pending.state.clone();
    database
        .run(move |conn| sso::remember(conn, now, &pending))
        .await?;
    // Both until the way back: the state ties the answer to this browser,
    // the page is where the person was going.
    let sso_cookie = |name, value: String| {
        Cookie::build(name, value)
            .path(sso::RETURN_PATH)
            .http_only(true)
            .secure(settings.secure_cookies)
            // Lax: the provider brings the person back by a top-level navigation.
            .same_site(SameSite::Lax)
            .max_age(CookieDuration::minutes(sso::REQUEST_VALIDITY_MINUTES))
            .finish()
    };
    let mut response = HttpResponse::SeeOther();
    response.cookie(sso_cookie(SSO_STATE_COOKIE, state));
    // Percent-encoded: a page's address may hold commas and semicolons,
    // and actix reads request cookies percent-decoded. Without a page, one
    // left by a sign-in given up is cleared.
    let mut page = sso_cookie(SSO_RETURN_COOKIE, then.to_owned());
    if then == "/" {
        page.make_removal();
    }
    response.append_header((header::SET_COOKIE, page.encoded().to_string()));
    Ok(response.insert_header((header::LOCATION, url)).finish())
}

/// Where the provider sends the person back, with a code or an error.
pub async fn finish_sso(
    req: HttpRequest,
    answer: web::Query<ProviderAnswer>,
    sso: web::Data<Sso>,
    database: web::Data<Database>,
    clock: web::Data<dyn Clock>,
    settings: web::Data<SessionSettings>,
) -> Result<HttpResponse, PageError> {
    let Some(provider) = sso.as_ref() else {
        return Err(PageError::NotFound);
    };
    let now = clock.now();
    let answer = answer.into_inner();
    let asked = req.cookie(SSO_RETURN_COOKIE);
    let then = session::return_to(asked.as_ref().map(|c| c.value()));
    let browser_state = req.cookie(SSO_STATE_COOKIE).map(|c| c.value().to_owned());
    let pending = match answer.state.filter(|s| Some(s) == browser_state.as_ref()) {
        Some(state) => {
            database
                .run(move |conn| sso::take(conn, now, &state))
                .await?
        }
        None => None,
    };
    let outcome = match (pending, answer.error, answer.code) {
        (None, _, _) => Err(SsoError::StaleRequest),
        // An answer from another provider than the one asked (a mix-up attack).
        (Some(_), _, _) if answer.iss.as_ref().is_some_and(|iss| !provider.issued(iss)) => {
            Err(SsoError::Unverifiable("answer from another issuer".into()))
        }
        (Some(_), Some(error), _) if error == "access_denied" => Err(SsoError::Denied),
        (Some(_), Some(error), _) => Err(SsoError::ProviderRefused(error)),
        (Some(_), None, None) => Err(SsoError::ProviderRefused("no code".into())),
        (Some(pending), None, Some(code)) => provider.finish(&code, pending).await,
    };
    let identity = match outcome {
        Ok(identity) => identity,
        Err(error) => return sso_refusal(&req, provider, &database, now, error, then).await,
    };
    let address = session::address(&req);
    let signed = database
        .run(move |conn| Ok::<_, DbError>(sso::sign_in(conn, now, &identity, &address)))
        .await?;
    match signed {
        Ok((token, _)) => {
            let mut response = signed_in(token, &settings, then);
            remove_sso_cookies(&mut response);
            Ok(response)
        }
        Err(error) => sso_refusal(&req, provider, &database, now, error, then).await,
    }
}

fn remove_sso_cookies(response: &mut HttpResponse) {
    for name in [SSO_STATE_COOKIE, SSO_RETURN_COOKIE] {
        let cookie = Cookie::build(name, "").path(sso::RETURN_PATH).finish();
        response.add_removal_cookie(&cookie).ok();
    }
}

/// The login page with what went wrong, recorded in the audit log.
async fn sso_refusal(
    req: &HttpRequest,
    provider: &sso::Provider,
    database: &Database,
    now: chrono::NaiveDateTime,
    error: SsoError,
    then: &str,
) -> Result<HttpResponse, PageError> {
    let error = match error {
        SsoError::Login(LoginError::Database(error)) => return Err(error.into()),
        other => other,
    };
    let status = match &error {
        SsoError::Login(refusal) => refusal_status(refusal),
        SsoError::Unreachable(_) | SsoError::ProviderRefused(_) | SsoError::Unverifiable(_) => {
            StatusCode::BAD_GATEWAY
        }
        SsoError::StaleRequest | SsoError::CodeRejected => StatusCode::BAD_REQUEST,
        SsoError::Denied
        | SsoError::NoAccount
        | SsoError::EmailNotVerified
        | SsoError::LinkedElsewhere => StatusCode::FORBIDDEN,
    };
    tracing::warn!(error = %error, "single sign-on refused");
    let message = error.message(&provider.display_name);
    let address = session::address(req);
    database
        .run(move |conn| sso::record_failure(conn, now, &error, &address))
        .await?;
    let csrf = Csrf::of(req);
    let page = login_page(
        &csrf,
        Some(&provider.display_name),
        "",
        then,
        Some((&message, true)),
    );
    let mut response = layout::respond(req, status, &csrf, page);
    remove_sso_cookies(&mut response);
    Ok(response)
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
        .insert_header((
            header::LOCATION,
            session::carrying_return(LOGIN_PATH, "/", Some(SignInMotive::SignedOut)),
        ))
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
