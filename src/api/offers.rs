//! Offers over HTTP: ingest (scope `ingest`), read (any key), search (scope
//! `search`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::{Value, json};

use super::AgencyCodes;
use super::auth::{ApiClient, PresentedKey};
use super::errors::ApiError;
use crate::apikeys::Scope;
use crate::db::Database;
use crate::offers::{self, FieldError, OfferId, OfferStatus, Upserted, store};
use crate::search::params::{Context, SearchRequest};
use crate::search::query::{Facet, FoundOffer, SearchResults};
use crate::search::{IndexerWaker, SearchIndex, query};

fn offer_id(raw: &str) -> Result<OfferId, ApiError> {
    OfferId::parse(raw).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "Identifiant d'offre « {raw} » invalide : 1 à 32 lettres, chiffres, « - », « _ » ou « . »."
        ))
    })
}

/// The request's body as JSON. Bodies past actix's limit (256 KiB, far
/// more than an offer) are refused with the API's own error.
fn json_body(body: Result<web::Bytes, actix_web::Error>) -> Result<Value, ApiError> {
    let body = body.map_err(|error| match error.as_response_error().status_code() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
        _ => ApiError::BadRequest("Corps de la requête illisible : renvoyez-le.".to_owned()),
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "Corps de la requête illisible : JSON invalide (ligne {}, colonne {}).",
            e.line(),
            e.column()
        ))
    })
}

/// `PUT /api/v1/offres/{id}`: creates (201) or replaces (200) an offer.
pub async fn put(
    client: ApiClient,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
    database: web::Data<Database>,
    agencies: web::Data<AgencyCodes>,
    indexer: web::Data<IndexerWaker>,
) -> Result<HttpResponse, ApiError> {
    client.require(Scope::Ingest)?;
    let id = offer_id(&path)?;
    let document = json_body(body)?;
    match document.get("id").and_then(Value::as_str) {
        Some(body_id) if body_id != id.as_str() => {
            return Err(ApiError::InvalidOffer(vec![FieldError {
                champ: "id".to_owned(),
                message: format!(
                    "« {body_id} » diffère de l'identifiant de l'adresse « {} »",
                    id.as_str()
                ),
            }]));
        }
        _ => {}
    }
    let agencies = agencies.into_inner();
    let (id, outcome) = database
        .run(move |conn| offers::ingest(conn, &agencies.0, document, Utc::now().naive_utc()))
        .await?;
    indexer.wake();
    let (status, result) = match outcome {
        Upserted::Created => (StatusCode::CREATED, "creee"),
        Upserted::Updated => (StatusCode::OK, "modifiee"),
        Upserted::Unchanged => (StatusCode::OK, "inchangee"),
    };
    Ok(HttpResponse::build(status).json(json!({ "id": id.as_str(), "resultat": result })))
}

/// `PUT /api/v1/offres/{id}/statut` with `{"statut": "suspendue"}`.
pub async fn put_status(
    client: ApiClient,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
    database: web::Data<Database>,
    indexer: web::Data<IndexerWaker>,
) -> Result<HttpResponse, ApiError> {
    client.require(Scope::Ingest)?;
    let id = offer_id(&path)?;
    let body = json_body(body)?;
    let allowed = OfferStatus::ALL.map(OfferStatus::as_str).join(", ");
    let status = body
        .get("statut")
        .and_then(Value::as_str)
        .and_then(OfferStatus::parse)
        .ok_or_else(|| {
            ApiError::InvalidOffer(vec![FieldError {
                champ: "statut".to_owned(),
                message: format!("une de ces valeurs est attendue : {allowed}"),
            }])
        })?;
    let target = id.clone();
    let found = database
        .run(move |conn| store::set_status(conn, &target, status))
        .await?;
    if !found {
        return Err(not_found(&id));
    }
    indexer.wake();
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "statut": status.as_str() })))
}

fn not_found(id: &OfferId) -> ApiError {
    ApiError::NotFound(format!(
        "Aucune offre ne porte l'identifiant « {} ».",
        id.as_str()
    ))
}

/// `GET /api/v1/offres/{id}`: the offer document with its `statut`.
pub async fn get(
    _client: ApiClient,
    path: web::Path<String>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let id = offer_id(&path)?;
    let target = id.clone();
    let stored = database
        .run(move |conn| store::find(conn, &target))
        .await?
        .ok_or_else(|| not_found(&id))?;
    let mut document = stored.document();
    document.insert("statut".to_owned(), Value::String(stored.status));
    Ok(HttpResponse::Ok().json(document))
}

/// The body of a search answer: `{"resultats": [...], "filtresPossibles":
/// [...]}`, the stored documents written out as they are (they are JSON
/// objects already; serde would parse each one again to check it).
fn search_body(offers: &[FoundOffer], facets: &[Facet]) -> Vec<u8> {
    let documents: usize = offers
        .iter()
        .map(|offer| offer.document.as_bytes().len() + 1)
        .sum();
    let mut body = Vec::with_capacity(documents + 4096);
    body.extend_from_slice(b"{\"resultats\":[");
    for (i, offer) in offers.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(offer.document.as_bytes());
    }
    body.extend_from_slice(b"],\"filtresPossibles\":");
    // Writing plain structs into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut body, facets);
    body.push(b'}');
    body
}

/// `GET /api/v1/offres/search`: France Travail's search, paged with `range`.
pub async fn search(
    key: PresentedKey,
    req: HttpRequest,
    index: web::Data<SearchIndex>,
    agencies: web::Data<AgencyCodes>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let query = req.query_string().to_owned();
    let (index, database, agencies) = (
        index.into_inner(),
        database.into_inner(),
        agencies.into_inner(),
    );
    // The key first (a bad one gets 401 or 403 whatever the parameters),
    // in the same trip to the blocking pool as the search (a value the
    // referentials lack is looked up in the index).
    let (results, start, end) = tokio::task::spawn_blocking(move || {
        key.check(&database, Scope::Search)?;
        let context = Context {
            agencies: &agencies.0,
            now: Utc::now().timestamp(),
            indexed: &|field, value| index.holds(field, value),
        };
        let request = search_request(&query, &context)?;
        let results = query::search(&index, &request)?;
        Ok::<_, ApiError>((results, request.start, request.end))
    })
    .await
    .map_err(|_| ApiError::Unavailable)??;
    Ok(search_response(&results, start, end))
}

/// The search asked for by a query string, checked.
pub fn search_request(query: &str, context: &Context) -> Result<SearchRequest, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| ApiError::BadRequest("Paramètres de recherche illisibles.".to_owned()))?
        .into_inner();
    // Decoding replaced what was not UTF-8 (« été » sent in Latin-1):
    // searched, the rest would find what was not asked.
    let unreadable = |text: &String| text.contains(char::REPLACEMENT_CHARACTER);
    if pairs
        .iter()
        .any(|(name, value)| unreadable(name) || unreadable(value))
    {
        return Err(ApiError::BadRequest(
            "Paramètres de recherche illisibles : encodez-les en UTF-8.".to_owned(),
        ));
    }
    Ok(SearchRequest::parse(&pairs, context)?)
}

/// The answer to a search for positions `start..=end`: 204 when nothing is
/// there, 206 when more follow, 200 for the last page; `Content-Range`
/// gives the total. (The benchmark serves its peers' answers with it too.)
pub fn search_response(results: &SearchResults, start: usize, end: usize) -> HttpResponse {
    let total = results.total;
    if total == 0 || start >= total {
        return HttpResponse::NoContent()
            .insert_header((header::CONTENT_RANGE, format!("offres */{total}")))
            .finish();
    }
    let last = end.min(total - 1);
    let status = if last + 1 < total {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_RANGE,
            format!("offres {start}-{last}/{total}"),
        ))
        // France Travail's name for it, without the standard's final s.
        .insert_header(("Accept-Range", "offres 150"))
        .insert_header(header::ContentType::json())
        .body(search_body(&results.offers, &results.facets))
}
