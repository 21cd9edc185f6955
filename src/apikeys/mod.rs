//! API keys for programs: the source system (scope `ingest`) and search
//! clients (scope `search`). A key is shown once; only its digest is kept.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::api_keys;
use crate::db::{DbConnection, DbError};
use crate::secrets;

const KEY_PREFIX: &str = "relais_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Search,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Search => "search",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        match raw {
            "ingest" => Some(Scope::Ingest),
            "search" => Some(Scope::Search),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("nom de clé invalide : 1 à 64 lettres, chiffres, « - », « _ » ou « . »")]
    BadName,
    #[error("une clé active porte déjà le nom « {0} » : révoquez-la d'abord")]
    NameTaken(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for ApiKeyError {
    fn from(error: diesel::result::Error) -> Self {
        ApiKeyError::Database(error.into())
    }
}

/// A key as listed (never the secret).
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub name: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKey {
    pub fn scope(&self) -> Option<Scope> {
        Scope::parse(&self.scope)
    }
}

/// Creates a key and returns its secret, which is not stored.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    scope: Scope,
    now: NaiveDateTime,
) -> Result<String, ApiKeyError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid {
        return Err(ApiKeyError::BadName);
    }
    let secret = format!("{KEY_PREFIX}{}", secrets::random_token());
    conn.transaction(|conn| {
        let taken: i64 = api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null())
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(ApiKeyError::NameTaken(name.to_owned()));
        }
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::id.eq(uuid::Uuid::new_v4().to_string()),
                api_keys::name.eq(name),
                api_keys::scope.eq(scope.as_str()),
                api_keys::key_hash.eq(secrets::digest(&secret)),
                api_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(secret)
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ApiKey>, DbError> {
    Ok(api_keys::table
        .order((api_keys::name, api_keys::created_at))
        .select(ApiKey::as_select())
        .load(conn)?)
}

/// Revokes the active key of that name; `false` when there is none.
pub fn revoke(conn: &mut DbConnection, name: &str, now: NaiveDateTime) -> Result<bool, DbError> {
    let revoked = diesel::update(
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?;
    Ok(revoked > 0)
}

/// The active key matching a presented secret.
pub fn authenticate(conn: &mut DbConnection, secret: &str) -> Result<Option<ApiKey>, DbError> {
    if !secret.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    // The digest is unique: no `first()`, whose bound `LIMIT ?` makes
    // SQLite prepare the statement again on every call.
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(secrets::digest(secret)))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .get_result(conn)
        .optional()?)
}
