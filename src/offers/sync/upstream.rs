//! The client of France Travail's "Offres d'emploi v2" search: an OAuth2
//! client-credentials token kept until shortly before it expires, requests
//! spaced to the configured rate, retries (429 after `Retry-After`, server
//! errors and lost connections with exponential backoff, 401 with a new
//! token), and the paging headers read as documented.

use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::reqwest::{self, StatusCode, blocking, header};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;

use super::SyncError;
use super::windows::Window;
use crate::config::SyncSettings;

pub const SEARCH_PATH: &str = "/partenaire/offresdemploi/v2/offres/search";
/// A token is renewed this long before France Travail says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// The longest `Retry-After` obeyed; a longer one counts as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The longest wait between two attempts after a server error.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// One page of results: the offers and the size of the whole result set.
#[derive(Debug, Default)]
pub struct Page {
    pub offers: Vec<Value>,
    pub total: usize,
}

/// What to ask for: the departments, a creation-date window, a range.
pub struct Query<'a> {
    pub departements: &'a [String],
    pub window: Window,
    pub range: (usize, usize),
}

pub struct Upstream {
    http: blocking::Client,
    tokens: TokenClient,
    scopes: Vec<Scope>,
    search_url: String,
    token: Option<(AccessToken, Instant)>,
    spacing: Duration,
    last_request: Option<Instant>,
    max_retries: u32,
    retry_base: Duration,
    /// Requests sent to France Travail (token and search), for the run's record.
    pub requests: u64,
}

/// How one attempt went wrong, and whether another may do better.
enum Failure {
    /// Worth trying again: after `Retry-After` when the service gave one,
    /// otherwise after an exponential backoff.
    Retry {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// The token is no longer accepted: get another one and try again.
    Unauthorized,
    Fatal(SyncError),
}

impl Upstream {
    pub fn new(settings: &SyncSettings) -> Result<Upstream, SyncError> {
        let token_url = TokenUrl::new(settings.token_url.clone())
            .map_err(|e| SyncError::Config(format!("sync.token_url : {e}")))?;
        let tokens = BasicClient::new(ClientId::new(settings.client_id.clone()))
            .set_client_secret(ClientSecret::new(settings.client_secret.clone()))
            // France Travail reads the client's id and secret in the form body.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        let http = blocking::Client::builder()
            // oauth2 requires it: a redirect could carry the secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .build()
            .map_err(|e| SyncError::Config(format!("client HTTP : {e}")))?;
        let rate = settings.requests_per_second.get();
        Ok(Upstream {
            http,
            tokens,
            scopes: settings
                .scopes
                .split_whitespace()
                .map(|s| Scope::new(s.to_owned()))
                .collect(),
            search_url: format!("{}{SEARCH_PATH}", settings.api_url.trim_end_matches('/')),
            token: None,
            spacing: Duration::from_secs(1) / rate,
            last_request: None,
            max_retries: settings.max_retries,
            retry_base: Duration::from_millis(settings.retry_base_ms),
            requests: 0,
        })
    }

    /// One page of the search, retried as the failure allows.
    pub fn search(&mut self, query: &Query) -> Result<Page, SyncError> {
        let mut failures = 0;
        let mut renewed_token = false;
        loop {
            let outcome = self
                .token()
                .and_then(|token| self.search_once(&token, query));
            match outcome {
                Ok(page) => return Ok(page),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Unauthorized) if !renewed_token => {
                    // Expired or revoked mid-run: one fresh token, then try again.
                    tracing::info!("upstream token refused; asking for a new one");
                    self.token = None;
                    renewed_token = true;
                }
                Err(Failure::Unauthorized) => {
                    return Err(SyncError::Token(
                        "un jeton tout juste délivré est refusé par la recherche (401)".to_owned(),
                    ));
                }
                Err(Failure::Retry {
                    retry_after,
                    reason,
                }) => {
                    failures += 1;
                    if failures > self.max_retries {
                        return Err(SyncError::GaveUp {
                            attempts: failures,
                            last: reason,
                        });
                    }
                    let wait = retry_after.unwrap_or_else(|| self.backoff(failures));
                    tracing::warn!(
                        attempt = failures,
                        wait_ms = wait.as_millis() as u64,
                        %reason,
                        "upstream request failed; retrying"
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// The cached token, or a new one when it is missing or about to expire.
    fn token(&mut self) -> Result<AccessToken, Failure> {
        if let Some((token, valid_until)) = &self.token
            && Instant::now() < *valid_until
        {
            return Ok(token.clone());
        }
        self.pace();
        self.requests += 1;
        let response = self
            .tokens
            .exchange_client_credentials()
            .add_scopes(self.scopes.iter().cloned())
            .request(&self.http)
            .map_err(|error| match error {
                RequestTokenError::Request(error) => Failure::Retry {
                    retry_after: None,
                    reason: format!("service des jetons injoignable : {error}"),
                },
                RequestTokenError::ServerResponse(response) => {
                    let reason = match response.error() {
                        BasicErrorResponseType::InvalidClient => {
                            "identifiant ou secret du client refusé (invalid_client)".to_owned()
                        }
                        other => other.to_string(),
                    };
                    Failure::Fatal(SyncError::Token(reason))
                }
                other => Failure::Fatal(SyncError::Token(other.to_string())),
            })?;
        let lifetime = response
            .expires_in()
            .unwrap_or(TOKEN_MARGIN)
            .saturating_sub(TOKEN_MARGIN);
        let token = response.access_token().clone();
        self.token = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    fn search_once(&mut self, token: &AccessToken, query: &Query) -> Result<Page, Failure> {
        let (min, max) = query.window.bounds();
        let (start, end) = query.range;
        self.pace();
        self.requests += 1;
        let sent = self
            .http
            .get(&self.search_url)
            .bearer_auth(token.secret())
            .header(header::ACCEPT, "application/json")
            .query(&[
                ("departement", query.departements.join(",")),
                ("minCreationDate", min),
                ("maxCreationDate", max),
                // Newest first, so pages stay put while offers are added.
                ("sort", "1".to_owned()),
                ("range", format!("{start}-{end}")),
            ])
            .send();
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Err(Failure::Retry {
                    retry_after: None,
                    reason: format!("pas de réponse : {error}"),
                });
            }
        };
        let status = response.status();
        match status {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => read_page(response),
            StatusCode::NO_CONTENT => Ok(Page::default()),
            StatusCode::UNAUTHORIZED => Err(Failure::Unauthorized),
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::Retry {
                retry_after: Some(retry_after(&response)),
                reason: "trop de requêtes (429)".to_owned(),
            }),
            status if status.is_server_error() => Err(Failure::Retry {
                retry_after: None,
                reason: format!("erreur du service ({})", status.as_u16()),
            }),
            status => {
                let message = response
                    .text()
                    .ok()
                    .and_then(|body| serde_json::from_str::<Value>(&body).ok())
                    .and_then(|body| {
                        body.get("message")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                Err(Failure::Fatal(SyncError::Refused {
                    status: status.as_u16(),
                    message,
                }))
            }
        }
    }

    /// Waits so that requests are at least `1 / requests_per_second` apart.
    fn pace(&mut self) {
        if let Some(last) = self.last_request {
            let next = last + self.spacing;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        self.last_request = Some(Instant::now());
    }

    /// `retry_base_ms`, doubled at each consecutive failure.
    fn backoff(&self, failures: u32) -> Duration {
        self.retry_base
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(MAX_BACKOFF)
    }
}

fn retry_after(response: &blocking::Response) -> Duration {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

/// A 200 or 206: `{"resultats": […]}` and `Content-Range: offres p-d/total`.
fn read_page(response: blocking::Response) -> Result<Page, Failure> {
    let unreadable = |what: String| Failure::Fatal(SyncError::Response(what));
    let partial = response.status() == StatusCode::PARTIAL_CONTENT;
    let total = response
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(content_range_total);
    let body = response
        .text()
        .map_err(|e| unreadable(format!("corps de la réponse : {e}")))?;
    let mut body: Value =
        serde_json::from_str(&body).map_err(|e| unreadable(format!("JSON invalide : {e}")))?;
    let offers = match body.get_mut("resultats").map(Value::take) {
        Some(Value::Array(offers)) => offers,
        _ => return Err(unreadable("« resultats » manque".to_owned())),
    };
    let total = match total {
        Some(total) => total,
        // Without the header, a complete answer is its own total.
        None if !partial => offers.len(),
        None => return Err(unreadable("réponse 206 sans Content-Range".to_owned())),
    };
    Ok(Page { offers, total })
}

/// "offres 0-149/3400" → 3400.
fn content_range_total(header: &str) -> Option<usize> {
    let (unit, rest) = header.trim().split_once(' ')?;
    if unit != "offres" {
        return None;
    }
    rest.rsplit_once('/')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_comes_from_content_range() {
        assert_eq!(content_range_total("offres 0-149/3400"), Some(3400));
        assert_eq!(content_range_total("offres */0"), Some(0));
        assert_eq!(content_range_total("bytes 0-149/3400"), None);
        assert_eq!(content_range_total("offres 0-149/beaucoup"), None);
    }
}
