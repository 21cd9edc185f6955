//! API clients authenticate with a bearer API key.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::errors::ApiError;
use crate::apikeys::{self, ApiKey, Scope};
use crate::db::Database;

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

impl FromRequest for ApiClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiClient, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|secret| secret.trim().to_owned());
        let database = req.app_data::<web::Data<Database>>().cloned();
        Box::pin(async move {
            let (Some(secret), Some(database)) = (secret, database) else {
                return Err(ApiError::Unauthorized);
            };
            let key = database
                .run(move |conn| apikeys::authenticate(conn, &secret))
                .await?;
            key.map(ApiClient).ok_or(ApiError::Unauthorized)
        })
    }
}
