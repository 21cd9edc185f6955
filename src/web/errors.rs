//! Every HTML error page comes from here.
//!
//! Policy: a handler returns a `PageError`; the person sees a French page that
//! says what happened and what to do; the technical cause is logged once, here,
//! and never shown.

use actix_web::error::{QueryPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use maud::html;

use super::layout;
use super::login::LOGIN_PATH;
use super::session::{PASSWORD_PATH, SignInMotive};
use crate::accounts::AccountError;
use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("Page introuvable")]
    NotFound,
    #[error("Service momentanément indisponible")]
    Unavailable,
    /// With the page asked for, to return to it once signed in.
    #[error("Connexion nécessaire")]
    LoginRequired {
        /// The page to come back to.
        wanted: Option<String>,
        motive: Option<SignInMotive>,
    },
    #[error("Mot de passe à changer")]
    PasswordChangeRequired,
    #[error("Formulaire refusé")]
    Csrf,
    #[error("Accès réservé")]
    Forbidden,
    /// A request the person can correct; the text says how.
    #[error("Demande incorrecte")]
    BadRequest(String),
    /// Access refused for a reason the text explains (e.g. an expired link).
    #[error("Accès refusé")]
    Refused(String),
}

impl From<DbError> for PageError {
    fn from(error: DbError) -> Self {
        tracing::error!(error = %error, "database unavailable while rendering a page");
        PageError::Unavailable
    }
}

impl From<AccountError> for PageError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Database(error) => error.into(),
            AccountError::UnknownAccount | AccountError::UnknownPartner => PageError::NotFound,
            AccountError::OffersNotInScope => PageError::Refused(error.to_string()),
            // Refusals a person can act on, e.g. from a page left open while
            // someone else changed the account.
            AccountError::NoSeat { .. } | AccountError::Deleted | AccountError::Invalid(_) => {
                PageError::BadRequest(error.to_string())
            }
            other => {
                tracing::error!(error = %other, "account action failed unexpectedly");
                PageError::Unavailable
            }
        }
    }
}

/// A query string that does not fit its page (a parameter repeated, or of
/// the wrong kind): actix would answer in English.
pub fn query_refused(_: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    PageError::BadRequest(
        "L'adresse de la page porte un paramètre incorrect ou répété : revenez à la page \
         précédente et réessayez."
            .to_owned(),
    )
    .into()
}

/// A form that does not fit its page (a field missing, repeated or too long).
pub fn form_refused(_: UrlencodedError, _: &HttpRequest) -> actix_web::Error {
    PageError::BadRequest(
        "Le formulaire envoyé est incomplet ou incorrect : rechargez la page et réessayez."
            .to_owned(),
    )
    .into()
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::LoginRequired { .. } | PageError::PasswordChangeRequired => {
                StatusCode::SEE_OTHER
            }
            PageError::Csrf | PageError::Forbidden | PageError::Refused(_) => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let redirect = match self {
            PageError::LoginRequired { wanted, motive } => Some(super::session::carrying_return(
                LOGIN_PATH,
                wanted.as_deref().unwrap_or("/"),
                *motive,
            )),
            PageError::PasswordChangeRequired => Some(PASSWORD_PATH.to_owned()),
            _ => None,
        };
        if let Some(location) = redirect {
            return layout::see_other(&location);
        }
        let advice = match self {
            PageError::NotFound => {
                "L'adresse demandée n'existe pas. Vérifiez-la, ou revenez à l'accueil."
            }
            PageError::Unavailable => {
                "Le service ne peut pas répondre pour l'instant. Réessayez dans quelques minutes ; si cela dure, signalez-le à votre responsable de gestion des comptes."
            }
            PageError::Csrf => {
                "Ce formulaire a expiré ou ne vient pas de relais. Rechargez la page, puis recommencez."
            }
            PageError::Forbidden => {
                "Cette page est réservée à un autre rôle. Si vous pensez devoir y accéder, adressez-vous à votre responsable de gestion des comptes."
            }
            PageError::BadRequest(text) | PageError::Refused(text) => text.as_str(),
            PageError::LoginRequired { .. } | PageError::PasswordChangeRequired => "",
        };
        let title = self.to_string();
        let body = layout::page(
            &title,
            html! {
                h1 { (title) }
                p { (advice) }
                p { a href="/" { "Retour à l'accueil" } }
            },
        );
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body.into_string())
    }
}

pub async fn not_found() -> HttpResponse {
    PageError::NotFound.error_response()
}
