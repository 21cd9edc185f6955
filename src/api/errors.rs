//! Every API error response comes from here, as France Travail shapes them:
//! `{"codeHttp": 400, "message": "…"}`, with `erreurs` listing each invalid
//! field of a submitted offer. Messages are French and say what to fix; the
//! technical cause of a 5xx is logged here, once, and not shown.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::apikeys::Scope;
use crate::db::DbError;
use crate::offers::{FieldError, IngestError};
use crate::search::SearchError;
use crate::search::params::ParamError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Param(#[from] ParamError),
    #[error("Offre invalide : corrigez les champs listés dans « erreurs ».")]
    InvalidOffer(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("Clé d'API absente ou invalide : envoyez « Authorization: Bearer <clé> ».")]
    Unauthorized,
    #[error("Cette clé d'API n'a pas la portée « {} » nécessaire.", .0.as_str())]
    Forbidden(Scope),
    #[error("{0}")]
    NotFound(String),
    #[error("Méthode non permise à cette adresse de l'API : {0} seulement.")]
    MethodNotAllowed(&'static str),
    #[error(
        "Corps de la requête trop grand : une offre tient en 256 Kio (262 144 octets) au plus."
    )]
    TooLarge,
    #[error("Service momentanément indisponible, réessayez dans un instant.")]
    Unavailable,
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        tracing::error!(error = %error, "database error in the API");
        ApiError::Unavailable
    }
}

impl From<SearchError> for ApiError {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::Request(error) => ApiError::Param(error),
            error => {
                tracing::error!(error = %error, "search index error in the API");
                ApiError::Unavailable
            }
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Invalid(errors) => ApiError::InvalidOffer(errors),
            IngestError::Database(error) => error.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Param(_) | ApiError::InvalidOffer(_) | ApiError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut body = json!({ "codeHttp": status.as_u16(), "message": self.to_string() });
        if let ApiError::InvalidOffer(errors) = self {
            body["erreurs"] = json!(errors);
        }
        let mut response = HttpResponse::build(status);
        match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed(allowed) => {
                response.insert_header((header::ALLOW, *allowed));
            }
            _ => {}
        }
        response.json(body)
    }
}

pub async fn method_not_allowed(allowed: &'static str) -> HttpResponse {
    ApiError::MethodNotAllowed(allowed).error_response()
}

pub async fn no_such_route() -> HttpResponse {
    ApiError::NotFound("Aucune ressource à cette adresse de l'API.".to_owned()).error_response()
}
