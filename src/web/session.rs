//! Who is asking: the session cookie resolved to an account, and the CSRF
//! token every form carries (double submit: a cookie and a hidden field that
//! must match; the cookie is SameSite=Strict, so another site cannot send it).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::NaiveDateTime;
use maud::{Markup, html};

use super::errors::PageError;
use crate::accounts::Account;
use crate::audit::Actor;
use crate::auth::{self, SessionPolicy};
use crate::clock::Clock;
use crate::config::SessionSettings;
use crate::db::Database;

pub const SESSION_COOKIE: &str = "relais_session";
pub const CSRF_COOKIE: &str = "relais_csrf";
pub const PASSWORD_PATH: &str = "/mot-de-passe";
pub const LOGOUT_PATH: &str = "/deconnexion";

/// The visitor: signed in or not.
pub struct Visitor {
    pub account: Option<Account>,
}

/// A signed-in person whose password is no longer the first one (otherwise
/// they are sent to change it).
pub struct SignedIn(pub Account);

/// The signed-in person, even before they changed their first password.
pub struct AnySignedIn(pub Account);

/// Now, and the session rules in force: what session checks are measured by.
#[derive(Clone, Copy)]
pub struct Moment {
    pub now: NaiveDateTime,
    pub policy: SessionPolicy,
}

impl Moment {
    /// From the application's clock and session settings, which startup
    /// always registers.
    pub fn of(req: &HttpRequest) -> Result<Moment, PageError> {
        let clock = req.app_data::<web::Data<dyn Clock>>();
        let settings = req.app_data::<web::Data<SessionSettings>>();
        match (clock, settings) {
            (Some(clock), Some(settings)) => Ok(Moment {
                now: clock.now(),
                policy: SessionPolicy::from(settings.as_ref()),
            }),
            _ => {
                tracing::error!("clock or session settings missing from the application");
                Err(PageError::Unavailable)
            }
        }
    }
}

fn resolve(req: &HttpRequest) -> Pin<Box<dyn Future<Output = Result<Option<Account>, PageError>>>> {
    let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
    let database = req.app_data::<web::Data<Database>>().cloned();
    let moment = Moment::of(req);
    Box::pin(async move {
        let Some(token) = token else {
            return Ok(None);
        };
        let (Some(database), Moment { now, policy }) = (database, moment?) else {
            return Err(PageError::Unavailable);
        };
        Ok(database
            .run(move |conn| auth::resolve(conn, now, policy, &token))
            .await?)
    })
}

impl FromRequest for Visitor {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Visitor, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let account = resolve(req);
        Box::pin(async move {
            Ok(Visitor {
                account: account.await?,
            })
        })
    }
}

impl FromRequest for AnySignedIn {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<AnySignedIn, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let account = resolve(req);
        // Where to come back to is worked out only for someone signed out.
        let req = req.clone();
        Box::pin(async move {
            account
                .await?
                .map(AnySignedIn)
                .ok_or_else(|| sign_in_needed(&req))
        })
    }
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<SignedIn, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let account = resolve(req);
        let req = req.clone();
        Box::pin(async move {
            match account.await? {
                None => Err(sign_in_needed(&req)),
                Some(account) if account.must_change_password => {
                    Err(PageError::PasswordChangeRequired)
                }
                Some(account) => Ok(SignedIn(account)),
            }
        })
    }
}

/// The CSRF token of this browser: the cookie's, or a new one to set.
pub struct Csrf {
    token: String,
    is_new: bool,
}

impl Csrf {
    pub fn of(req: &HttpRequest) -> Csrf {
        match req.cookie(CSRF_COOKIE) {
            Some(cookie) if cookie.value().len() == 64 => Csrf {
                token: cookie.value().to_owned(),
                is_new: false,
            },
            _ => Csrf {
                token: crate::secrets::random_token(),
                is_new: true,
            },
        }
    }

    /// The hidden field of every form.
    pub fn field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.token); }
    }

    /// The cookie to set with the page, when the token is new.
    pub fn cookie(&self, secure: bool) -> Option<Cookie<'static>> {
        self.is_new.then(|| {
            Cookie::build(CSRF_COOKIE, self.token.clone())
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Strict)
                .finish()
        })
    }

    /// Checks a submitted form's token against the cookie.
    pub fn verify(req: &HttpRequest, submitted: &str) -> Result<(), PageError> {
        match req.cookie(CSRF_COOKIE) {
            Some(cookie) if !submitted.is_empty() && cookie.value() == submitted => Ok(()),
            _ => Err(PageError::Csrf),
        }
    }
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// Why the sign-in page is shown, as its `motif` parameter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMotive {
    /// The person signed out.
    SignedOut,
    /// The session ended (idle, or too long) while pages were read.
    Ended,
    /// The session ended before a form was sent: nothing of it was kept.
    EndedBeforeSending,
}

impl SignInMotive {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMotive::SignedOut => "deconnexion",
            SignInMotive::Ended => "session-terminee",
            SignInMotive::EndedBeforeSending => "envoi-perdu",
        }
    }

    pub fn parse(raw: &str) -> Option<SignInMotive> {
        [
            SignInMotive::SignedOut,
            SignInMotive::Ended,
            SignInMotive::EndedBeforeSending,
        ]
        .into_iter()
        .find(|motive| motive.as_str() == raw)
    }

    pub fn message(self) -> &'static str {
        match self {
            SignInMotive::SignedOut => "Votre session est fermée.",
            SignInMotive::Ended => {
                "Votre session a pris fin : reconnectez-vous pour reprendre où vous en étiez."
            }
            SignInMotive::EndedBeforeSending => {
                "Votre session a pris fin avant l'envoi du formulaire : rien n'a été enregistré. \
                 Reconnectez-vous, puis envoyez-le à nouveau."
            }
        }
    }
}

/// Someone without a session goes to sign in, then back to the page they
/// were reading (a link from a mail) or to the form they were sending, and
/// is told when their session ended on the way.
pub fn sign_in_needed(req: &HttpRequest) -> PageError {
    let reading = matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    );
    let wanted = if reading {
        req.uri().path_and_query().map(|p| p.as_str().to_owned())
    } else {
        form_page(req)
    };
    let motive = req.cookie(SESSION_COOKIE).map(|_| {
        if reading {
            SignInMotive::Ended
        } else {
            SignInMotive::EndedBeforeSending
        }
    });
    PageError::LoginRequired {
        wanted: wanted.filter(|w| w != "/"),
        motive,
    }
}

/// The page a form was sent from, when this site's: its `Referer`.
fn form_page(req: &HttpRequest) -> Option<String> {
    let referer = req
        .headers()
        .get(actix_web::http::header::REFERER)?
        .to_str()
        .ok()?;
    let host = req.connection_info().host().to_owned();
    let path = referer
        .strip_prefix("https://")
        .or_else(|| referer.strip_prefix("http://"))?
        .strip_prefix(host.as_str())?;
    (return_to(Some(path)) == path).then(|| path.to_owned())
}

/// A sign-in step's address carrying the page to come back to (`suite`),
/// when there is one other than the home page, and why it is shown.
pub fn carrying_return(path: &str, then: &str, motive: Option<SignInMotive>) -> String {
    let mut params = Vec::new();
    if then != "/" {
        params.push(("suite", then));
    }
    if let Some(motive) = motive {
        params.push(("motif", motive.as_str()));
    }
    match serde_urlencoded::to_string(params) {
        Ok(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_owned(),
    }
}

/// Where to go once signed in: `asked` when it is a page of relais (a
/// path of this site, never another site's address). Browsers drop tabs
/// and line breaks from an address, and read a backslash as « / »: « /\t/a »
/// would be « //a », another site.
pub fn return_to(asked: Option<&str>) -> &str {
    match asked {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains(|c: char| c == '\\' || c.is_control())
                && !path.starts_with(super::login::LOGIN_PATH) =>
        {
            path
        }
        _ => "/",
    }
}

/// The reverse proxies trusted to name the client (`server.trusted_proxies`).
pub struct TrustedProxies(pub Vec<IpAddr>);

/// The client's address, as recorded in the audit trail and for throttling.
pub fn address(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "inconnue".to_owned();
    };
    let trusted = req
        .app_data::<web::Data<TrustedProxies>>()
        .map_or(&[][..], |proxies| proxies.0.as_slice());
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok());
    client_address(peer, forwarded, trusted).to_string()
}

/// The peer, unless it is a trusted proxy: then the nearest address its
/// `X-Forwarded-For` lists that is not one of them. Each proxy appends the
/// address it saw; what lies further left the client may have written.
fn client_address<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpAddr],
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|value| value.split(',')).collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(hop) if trusted.contains(&hop) => continue,
            Ok(client) => return client,
            // Unreadable: nothing further left can be trusted.
            Err(_) => break,
        }
    }
    peer
}

/// The signed-in person acting through this request, for the audit trail.
pub fn actor(req: &HttpRequest, account: &Account) -> Actor {
    Actor {
        id: account.id.clone(),
        address: address(req),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_client_is_named_only_by_trusted_proxies() {
        let proxy = [ip("10.0.0.10")];
        let header = ["198.51.100.1, 203.0.113.7"];
        // Straight from a client: its header is its own say.
        let direct = client_address(ip("192.0.2.5"), header.into_iter(), &proxy);
        assert_eq!(direct, ip("192.0.2.5"));
        // Through the proxy: the address it appended, not what the client wrote.
        let proxied = client_address(ip("10.0.0.10"), header.into_iter(), &proxy);
        assert_eq!(proxied, ip("203.0.113.7"));
        // Two trusted proxies in a row, over two header lines.
        let chain = [ip("10.0.0.10"), ip("10.0.0.11")];
        let lines = ["203.0.113.7", "10.0.0.11"];
        assert_eq!(
            client_address(ip("10.0.0.10"), lines.into_iter(), &chain),
            ip("203.0.113.7")
        );
        // Nothing readable: the proxy itself.
        let garbled = client_address(ip("10.0.0.10"), ["inconnu"].into_iter(), &proxy);
        assert_eq!(garbled, ip("10.0.0.10"));
        assert_eq!(
            client_address(ip("10.0.0.10"), [].into_iter(), &proxy),
            ip("10.0.0.10")
        );
    }
}
