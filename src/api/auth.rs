//! API clients authenticate with a bearer API key.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::errors::ApiError;
use crate::apikeys::{self, ApiKey, Scope};
use crate::db::{Database, DbConnection};

/// The caller, known by a valid (unrevoked) key.
pub struct ApiClient(ApiKey);

impl ApiClient {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.scope() == Some(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(scope))
        }
    }
}

/// The secret of the `Authorization: Bearer` header, if any.
fn presented_secret(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        // The scheme's name is case-insensitive (RFC 9110).
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, secret)| secret.trim().to_owned())
}

/// The caller known by `secret`: a valid, unrevoked key, else 401.
fn identify(conn: &mut DbConnection, secret: &str) -> Result<ApiClient, ApiError> {
    apikeys::authenticate(conn, secret)?
        .map(ApiClient)
        .ok_or(ApiError::Unauthorized)
}

impl FromRequest for ApiClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiClient, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = presented_secret(req);
        let database = req.app_data::<web::Data<Database>>().cloned();
        Box::pin(async move {
            let (Some(secret), Some(database)) = (secret, database) else {
                return Err(ApiError::Unauthorized);
            };
            database.run(move |conn| identify(conn, &secret)).await
        })
    }
}

/// A key presented but not checked yet: for a handler that goes to the
/// blocking pool anyway, the check rides along (the trip between threads
/// costs more than the key's lookup).
pub struct PresentedKey(Option<String>);

impl PresentedKey {
    /// Blocking: the caller, with a valid, unrevoked key of `scope`.
    pub fn check(self, database: &Database, scope: Scope) -> Result<ApiClient, ApiError> {
        let Some(secret) = self.0 else {
            return Err(ApiError::Unauthorized);
        };
        let client = identify(&mut *database.connection()?, &secret)?;
        client.require(scope)?;
        Ok(client)
    }
}

impl FromRequest for PresentedKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<PresentedKey, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(PresentedKey(presented_secret(req))))
    }
}
