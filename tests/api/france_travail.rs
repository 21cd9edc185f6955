//! A local stand-in for France Travail's API, following its documented
//! protocol: the OAuth2 token endpoint of the /partenaire realm, and
//! `offres/search` with `range` (150 a page, start ≤ 3000, end ≤ 3149),
//! `Content-Range`, 206/200/204, `departement`, `minCreationDate` /
//! `maxCreationDate`, 400 with a JSON message, 429 with `Retry-After`. Knobs
//! make it misbehave the way the real one can.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{DateTime, Utc};
use relais::config::Settings;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "PAR_relais_test";
pub const CLIENT_SECRET: &str = "secret-de-test";
const TOKEN_PATH: &str = "/connexion/oauth2/access_token";
const SEARCH_PATH: &str = "/partenaire/offresdemploi/v2/offres/search";

/// Ways to make the stand-in misbehave.
#[derive(Debug, Default, Clone)]
pub struct Knobs {
    /// A token is refused (401) after this many searches with it.
    pub revoke_after_searches: Option<u32>,
    /// The next searches answered 429 with `Retry-After: 1`.
    pub too_many_requests: u32,
    /// The search with this number (1 = the first ever) gets a 500.
    pub fail_search: Option<u32>,
    /// Every search from this number on gets a 500.
    pub fail_from_search: Option<u32>,
    /// More searches than this within one second are answered 429.
    pub limit_per_second: Option<usize>,
}

#[derive(Default)]
struct State {
    offers: Vec<Value>,
    knobs: Knobs,
    /// Live tokens and the searches made with each.
    tokens: HashMap<String, u32>,
    tokens_issued: u32,
    searches: u32,
    arrivals: Vec<Instant>,
    served: HashMap<u16, u32>,
    over_the_limit: u32,
}

pub struct StandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

impl StandIn {
    /// Starts the stand-in on a free loopback port with these offers.
    pub async fn start(offers: Vec<Value>) -> StandIn {
        let state = Arc::new(Mutex::new(State {
            offers,
            ..State::default()
        }));
        let data = web::Data::from(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(TOKEN_PATH, web::post().to(token))
                .route(SEARCH_PATH, web::get().to(search))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        StandIn { url, state, handle }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Points relais at the stand-in, with fast retries and no rate limit to
    /// speak of (tests that check them set their own).
    pub fn configure(&self, settings: &mut Settings) {
        let sync = &mut settings.sync;
        sync.api_url = self.url.clone();
        sync.token_url = format!("{}{TOKEN_PATH}?realm=%2Fpartenaire", self.url);
        sync.client_id = CLIENT_ID.to_owned();
        sync.client_secret = CLIENT_SECRET.to_owned();
        sync.requests_per_second = std::num::NonZeroU32::new(1000).unwrap();
        sync.max_retries = 3;
        sync.retry_base_ms = 5;
        sync.timeout_secs = 5;
    }

    pub fn set(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.state().knobs);
    }

    pub fn remove_offer(&self, id: &str) {
        self.state().offers.retain(|offer| offer["id"] != id);
    }

    pub fn add_offers(&self, offers: Vec<Value>) {
        self.state().offers.extend(offers);
    }

    pub fn tokens_issued(&self) -> u32 {
        self.state().tokens_issued
    }

    pub fn searches(&self) -> u32 {
        self.state().searches
    }

    /// Responses given with that status, to searches and token requests.
    pub fn served(&self, status: u16) -> u32 {
        self.state().served.get(&status).copied().unwrap_or(0)
    }

    /// Searches refused for coming faster than `limit_per_second`.
    pub fn over_the_limit(&self) -> u32 {
        self.state().over_the_limit
    }

    /// The most searches that arrived within any one second.
    pub fn most_in_one_second(&self) -> usize {
        let arrivals = &self.state().arrivals;
        (0..arrivals.len())
            .map(|i| {
                arrivals[i..]
                    .iter()
                    .take_while(|at| at.duration_since(arrivals[i]) < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// An offer as the search returns it, in that commune, created then.
pub fn offer(id: &str, commune: &str, created: DateTime<Utc>) -> Value {
    let place = relais::referentials::get()
        .commune(commune)
        .expect("a commune of the referential");
    let date = created.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
    json!({
        "id": id,
        "intitule": format!("Agent d'entretien {id} (H/F)"),
        "description": format!("Entretien des locaux, offre {id}."),
        "dateCreation": date,
        "dateActualisation": date,
        "lieuTravail": {
            "libelle": format!("{} - {}", place.department, place.name),
            "latitude": place.latitude,
            "longitude": place.longitude,
            "codePostal": place.postal_codes.first(),
            "commune": commune,
        },
        "romeCode": "K2204",
        "typeContrat": "CDI",
        "typeContratLibelle": "Contrat à durée indéterminée",
        "natureContrat": "Contrat travail",
        "experienceExige": "D",
        "experienceLibelle": "Débutant accepté",
        "nombrePostes": 1,
    })
}

fn record(state: &mut State, response: HttpResponse) -> HttpResponse {
    *state.served.entry(response.status().as_u16()).or_default() += 1;
    response
}

fn message(status: StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "codeHttp": status.as_u16(), "message": text }))
}

async fn token(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let realm = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("realm").cloned());
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let scopes: Vec<&str> = field("scope").split_whitespace().collect();
    let response = if realm.as_deref() != Some("/partenaire") {
        HttpResponse::BadRequest()
            .json(json!({"error": "invalid_request", "error_description": "realm"}))
    } else if field("grant_type") != "client_credentials" {
        HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}))
    } else if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        HttpResponse::Unauthorized().json(
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        )
    } else if !["api_offresdemploiv2", "o2dsoffre"]
        .iter()
        .all(|s| scopes.contains(s))
    {
        HttpResponse::BadRequest().json(json!({"error": "invalid_scope"}))
    } else {
        let token = uuid::Uuid::new_v4().simple().to_string();
        state.tokens.insert(token.clone(), 0);
        state.tokens_issued += 1;
        HttpResponse::Ok().json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 1499,
            "scope": scopes.join(" "),
        }))
    };
    record(&mut state, response)
}

async fn search(req: HttpRequest, state: web::Data<Mutex<State>>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let response = answer_search(&mut state, &req);
    record(&mut state, response)
}

fn answer_search(state: &mut State, req: &HttpRequest) -> HttpResponse {
    state.searches += 1;
    let number = state.searches;
    let now = Instant::now();
    state.arrivals.push(now);
    let too_many = || {
        HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "1"))
            .json(json!({"codeHttp": 429, "message": "Limite de requêtes dépassée"}))
    };
    if let Some(limit) = state.knobs.limit_per_second {
        let recent = state
            .arrivals
            .iter()
            .filter(|at| now.duration_since(**at) < Duration::from_secs(1))
            .count();
        if recent > limit {
            state.over_the_limit += 1;
            return too_many();
        }
    }
    if state.knobs.too_many_requests > 0 {
        state.knobs.too_many_requests -= 1;
        return too_many();
    }
    if state.knobs.fail_search == Some(number)
        || state
            .knobs
            .fail_from_search
            .is_some_and(|from| number >= from)
    {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Erreur technique");
    }

    let bearer = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let revoke_after = state.knobs.revoke_after_searches;
    let Some(uses) = bearer.as_ref().and_then(|t| state.tokens.get_mut(t)) else {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_token"}));
    };
    *uses += 1;
    if revoke_after.is_some_and(|limit| *uses > limit) {
        state.tokens.remove(bearer.as_deref().unwrap_or_default());
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_token"}));
    }

    let Ok(params) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Paramètres de recherche illisibles.",
        );
    };
    let (start, end) = match parse_range(params.get("range").map_or("0-149", String::as_str)) {
        Ok(range) => range,
        Err(text) => return message(StatusCode::BAD_REQUEST, text),
    };
    let bound = |name: &str| {
        params
            .get(name)
            .map(|raw| DateTime::parse_from_rfc3339(raw).map(|d| d.timestamp()))
    };
    let window = match (bound("minCreationDate"), bound("maxCreationDate")) {
        (None, None) => None,
        (Some(Ok(min)), Some(Ok(max))) => Some((min, max)),
        (Some(Err(_)), _) | (_, Some(Err(_))) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Le format de la date est incorrect : yyyy-MM-dd'T'hh:mm:ss'Z' attendu.",
            );
        }
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Les paramètres minCreationDate et maxCreationDate vont ensemble.",
            );
        }
    };
    let departements: Option<Vec<&str>> = params.get("departement").map(|d| d.split(',').collect());

    let mut matching: Vec<(i64, &Value)> = state
        .offers
        .iter()
        .filter_map(|offer| {
            let created = DateTime::parse_from_rfc3339(offer["dateCreation"].as_str()?)
                .ok()?
                .timestamp();
            let commune = offer["lieuTravail"]["commune"].as_str()?;
            let in_scope = departements
                .as_ref()
                .is_none_or(|list| list.iter().any(|d| commune.starts_with(d)));
            let in_window = window.is_none_or(|(min, max)| (min..=max).contains(&created));
            (in_scope && in_window).then_some((created, offer))
        })
        .collect();
    // sort=1: newest first; the same order whatever the sort asked here.
    matching.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1["id"].as_str().cmp(&b.1["id"].as_str()))
    });
    let total = matching.len();
    if total == 0 || start >= total {
        return HttpResponse::NoContent().finish();
    }
    let last = end.min(total - 1);
    let offers: Vec<&Value> = matching[start..=last].iter().map(|(_, o)| *o).collect();
    let status = if last + 1 < total {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status)
        .insert_header(("Content-Range", format!("offres {start}-{last}/{total}")))
        .insert_header(("Accept-Range", "offres 150"))
        .json(json!({ "resultats": offers, "filtresPossibles": [] }))
}

fn parse_range(raw: &str) -> Result<(usize, usize), &'static str> {
    let (start, end) = raw
        .split_once('-')
        .and_then(|(p, d)| Some((p.parse::<usize>().ok()?, d.parse::<usize>().ok()?)))
        .ok_or("Le paramètre range est incorrect : p-d attendu.")?;
    if start > end {
        return Err("Le paramètre range est incorrect : p doit être inférieur ou égal à d.");
    }
    if end - start >= 150 {
        return Err("La plage de résultats demandée est trop importante : 150 au maximum.");
    }
    if start > 3000 {
        return Err("La position de début ne doit pas dépasser 3000.");
    }
    if end > 3149 {
        return Err("La position de fin ne doit pas dépasser 3149.");
    }
    Ok((start, end))
}
