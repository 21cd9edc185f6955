//! Single sign-on through an OpenID Connect provider: authorization code flow
//! with PKCE, `state` and `nonce`; the provider's metadata and keys come from
//! its discovery document, and the ID token is checked (signature, issuer,
//! audience, expiry, nonce) by the `openidconnect` crate.
//!
//! It never creates an account. The first time, it links the provider's
//! identity (`sub`) to the one account, not deleted, whose email the provider
//! states as verified; afterwards it matches on `sub` alone. The account must
//! then pass the same checks as with a password (`super::open_session`).
//!
//! The provider is asked again for its metadata at each sign-in: sign-ins are
//! rare, and its signing keys may rotate at any time.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, TokenResponse, reqwest,
};
use serde_json::json;

use super::{Holder, LoginError, SignInMethod, open_session};
use crate::accounts::{Account, AccountStatus};
use crate::audit::{self, Action, Event};
use crate::config::SsoSettings;
use crate::db::schema::{sso_requests, users};
use crate::db::{DbConnection, DbError};
use crate::secrets;

/// Where the login page's button leads, and where the provider sends people back.
pub const START_PATH: &str = "/connexion/sso";
pub const RETURN_PATH: &str = "/connexion/sso/retour";
/// Minutes a person has to come back from the provider.
pub const REQUEST_VALIDITY_MINUTES: i64 = 10;

type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through the provider did not open a session. Each has its
/// French message for the login page (`message`) and a code for the audit.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    #[error("consent denied")]
    Denied,
    #[error("provider refused: {0}")]
    ProviderRefused(String),
    #[error("unknown, used or expired request")]
    StaleRequest,
    #[error("authorization code rejected")]
    CodeRejected,
    #[error("answer failed verification: {0}")]
    Unverifiable(String),
    #[error("no account for this identity")]
    NoAccount,
    #[error("email not verified by the provider")]
    EmailNotVerified,
    #[error("account already linked to another identity")]
    LinkedElsewhere,
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl From<diesel::result::Error> for SsoError {
    fn from(error: diesel::result::Error) -> Self {
        SsoError::Login(error.into())
    }
}

impl From<DbError> for SsoError {
    fn from(error: DbError) -> Self {
        SsoError::Login(LoginError::Database(error))
    }
}

impl SsoError {
    /// What the person reads, naming the provider.
    pub fn message(&self, provider: &str) -> String {
        match self {
            SsoError::Unreachable(_) => format!(
                "{provider} ne répond pas pour le moment. Réessayez dans quelques minutes, \
                 ou connectez-vous avec votre identifiant et votre mot de passe relais."
            ),
            SsoError::Denied => format!(
                "La connexion a été annulée chez {provider} : vous n'êtes pas connecté. \
                 Recommencez si c'était une erreur."
            ),
            SsoError::ProviderRefused(_) => format!(
                "{provider} a refusé la demande de connexion de relais. Réessayez ; si cela se \
                 reproduit, connectez-vous avec votre identifiant relais et prévenez l'assistance."
            ),
            SsoError::StaleRequest => "Cette demande de connexion n'est plus valable : elle a \
                 expiré, a déjà servi ou a été commencée dans un autre navigateur. Recommencez \
                 la connexion."
                .to_owned(),
            SsoError::CodeRejected => format!(
                "Le code de connexion remis par {provider} a expiré ou a déjà servi. \
                 Recommencez la connexion."
            ),
            SsoError::Unverifiable(_) => format!(
                "La réponse de {provider} n'a pas pu être vérifiée : par prudence, vous n'êtes \
                 pas connecté. Recommencez ; si cela se reproduit, prévenez l'assistance."
            ),
            SsoError::NoAccount => format!(
                "Aucun compte relais ne correspond à votre identité {provider}. La connexion par \
                 {provider} ne crée pas de compte : demandez au responsable de gestion des comptes \
                 (RGC) de votre structure de vous ouvrir un compte à votre adresse professionnelle."
            ),
            SsoError::EmailNotVerified => format!(
                "{provider} n'atteste pas que votre adresse électronique est vérifiée : relais ne \
                 peut pas la relier à un compte. Faites-la vérifier chez {provider}, ou connectez-vous \
                 avec votre identifiant et votre mot de passe relais."
            ),
            SsoError::LinkedElsewhere => format!(
                "Le compte relais de votre adresse est déjà relié à une autre identité {provider}. \
                 Demandez au responsable de gestion des comptes (RGC) de votre structure."
            ),
            SsoError::Login(error) => error.to_string(),
        }
    }

    /// Recorded in the audit log: a code, never personal data.
    fn code(&self) -> &'static str {
        match self {
            SsoError::Unreachable(_) => "provider_unreachable",
            SsoError::Denied => "denied",
            SsoError::ProviderRefused(_) => "provider_refused",
            SsoError::StaleRequest => "stale_request",
            SsoError::CodeRejected => "code_rejected",
            SsoError::Unverifiable(_) => "unverifiable",
            SsoError::NoAccount => "no_account",
            SsoError::EmailNotVerified => "email_not_verified",
            SsoError::LinkedElsewhere => "linked_elsewhere",
            SsoError::Login(LoginError::Inactive | LoginError::InactiveRgc) => "inactive",
            SsoError::Login(LoginError::OutsideAgreement { .. }) => "outside_agreement",
            SsoError::Login(_) => "login_refused",
        }
    }
}

/// The configured provider.
pub struct Provider {
    pub display_name: String,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    http: reqwest::Client,
}

/// A sign-in sent to the provider: what its answer is checked against.
pub struct Pending {
    pub state: String,
    nonce: String,
    pkce_verifier: String,
}

/// Who the provider says the person is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

impl Provider {
    /// `None` when single sign-on is off. `base_url` is where people reach relais.
    pub fn from_settings(settings: &SsoSettings, base_url: &str) -> Result<Option<Self>, String> {
        if settings.issuer_url.trim().is_empty() {
            return Ok(None);
        }
        let issuer = IssuerUrl::new(settings.issuer_url.trim().to_owned())
            .map_err(|e| format!("sso.issuer_url « {} » : {e}", settings.issuer_url))?;
        if settings.client_id.trim().is_empty() {
            return Err("sso.client_id est vide alors que sso.issuer_url est renseigné".into());
        }
        if settings.display_name.trim().is_empty() {
            return Err("sso.display_name est vide alors que sso.issuer_url est renseigné".into());
        }
        let redirect = RedirectUrl::new(format!("{base_url}{RETURN_PATH}"))
            .map_err(|e| format!("adresse de retour « {base_url}{RETURN_PATH} » : {e}"))?;
        let http = reqwest::Client::builder()
            // Following redirects would let the provider's answers lead relais elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.timeout_secs))
            .build()
            .map_err(|e| format!("client HTTP du fournisseur d'identité : {e}"))?;
        let secret = settings.client_secret.trim();
        Ok(Some(Provider {
            display_name: settings.display_name.trim().to_owned(),
            issuer,
            client_id: ClientId::new(settings.client_id.trim().to_owned()),
            client_secret: (!secret.is_empty()).then(|| ClientSecret::new(secret.to_owned())),
            redirect,
            http,
        }))
    }

    /// Whether `issuer` names this provider.
    pub fn issued(&self, issuer: &str) -> bool {
        self.issuer.as_str() == issuer
    }

    async fn client(&self) -> Result<DiscoveredClient, SsoError> {
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| SsoError::Unreachable(error_chain(&e)))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Where to send the person, and what to remember until they come back.
    pub async fn start(&self) -> Result<(String, Pending), SsoError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        };
        Ok((url.to_string(), pending))
    }

    /// Exchanges the code the person came back with and checks the ID token.
    pub async fn finish(&self, code: &str, pending: Pending) -> Result<Identity, SsoError> {
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::ProviderRefused(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(response)
                    if *response.error() == CoreErrorResponseType::InvalidGrant =>
                {
                    SsoError::CodeRejected
                }
                RequestTokenError::ServerResponse(response) => {
                    SsoError::ProviderRefused(response.error().to_string())
                }
                RequestTokenError::Request(e) => SsoError::Unreachable(error_chain(&e)),
                other => SsoError::Unverifiable(error_chain(&other)),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SsoError::Unverifiable("no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
            .map_err(|e| SsoError::Unverifiable(error_chain(&e)))?;
        let subject = claims.subject().clone();
        if let Some(email) = claims.email() {
            return Ok(Identity {
                subject: subject.to_string(),
                email: Some(email.to_string()),
                email_verified: claims.email_verified().unwrap_or(false),
            });
        }
        // Many providers give the email through the userinfo endpoint only.
        let userinfo: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), Some(subject.clone()))
            .map_err(|e| SsoError::Unverifiable(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::Unverifiable(error_chain(&e)))?;
        Ok(Identity {
            subject: subject.to_string(),
            email: userinfo.email().map(|e| e.to_string()),
            email_verified: userinfo.email_verified().unwrap_or(false),
        })
    }
}

/// An error and its causes on one line, for logs (never personal data here:
/// these are transport and protocol errors).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Keeps a sign-in until the person comes back, and forgets the expired ones.
pub fn remember(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    pending: &Pending,
) -> Result<(), DbError> {
    diesel::delete(sso_requests::table.filter(
        sso_requests::created_at.lt(now - chrono::Duration::minutes(REQUEST_VALIDITY_MINUTES)),
    ))
    .execute(conn)?;
    diesel::insert_into(sso_requests::table)
        .values((
            sso_requests::id.eq(secrets::digest(&pending.state)),
            sso_requests::nonce.eq(&pending.nonce),
            sso_requests::pkce_verifier.eq(&pending.pkce_verifier),
            sso_requests::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The sign-in of this `state`, once: it is deleted as it is read, so that
/// an answer cannot be replayed.
pub fn take(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    state: &str,
) -> Result<Option<Pending>, DbError> {
    let id = secrets::digest(state);
    conn.transaction(|conn| {
        // Write first: a SQLite transaction that has read fails at once on
        // its first write while another connection writes.
        diesel::update(sso_requests::table.find(&id))
            .set(sso_requests::created_at.eq(sso_requests::created_at))
            .execute(conn)?;
        let found: Option<(String, String, NaiveDateTime)> = sso_requests::table
            .find(&id)
            .select((
                sso_requests::nonce,
                sso_requests::pkce_verifier,
                sso_requests::created_at,
            ))
            .first(conn)
            .optional()?;
        let deleted = diesel::delete(sso_requests::table.find(&id)).execute(conn)?;
        Ok(found
            .filter(|_| deleted == 1)
            .filter(|(_, _, at)| now - *at <= chrono::Duration::minutes(REQUEST_VALIDITY_MINUTES))
            .map(|(nonce, pkce_verifier, _)| Pending {
                state: state.to_owned(),
                nonce,
                pkce_verifier,
            }))
    })
}

/// Opens a session for the account of this identity, linking it the first time.
pub fn sign_in(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    identity: &Identity,
    address: &str,
) -> Result<(String, Account), SsoError> {
    conn.transaction(|conn| {
        // Write first (see `take`): the account of this identity, if linked.
        diesel::update(users::table.filter(users::sso_subject.eq(&identity.subject)))
            .set(users::updated_at.eq(users::updated_at))
            .execute(conn)?;
        let linked: Option<Holder> = users::table
            .filter(users::sso_subject.eq(&identity.subject))
            .filter(users::status.ne(AccountStatus::Deleted.as_str()))
            .select(Holder::as_select())
            .first(conn)
            .optional()?;
        let holder = match linked {
            Some(holder) => holder,
            None => link(conn, now, identity, address)?,
        };
        Ok(open_session(
            conn,
            now,
            &holder,
            address,
            SignInMethod::Sso,
        )?)
    })
}

/// The one account of the identity's verified email, now linked to its `sub`.
fn link(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    identity: &Identity,
    address: &str,
) -> Result<Holder, SsoError> {
    let Some(email) = identity.email.as_deref() else {
        return Err(SsoError::NoAccount);
    };
    if !identity.email_verified {
        return Err(SsoError::EmailNotVerified);
    }
    let found: Option<(Holder, Option<String>)> = users::table
        .filter(crate::accounts::holding_address(email))
        .select((Holder::as_select(), users::sso_subject))
        .first(conn)
        .optional()?;
    let Some((holder, subject)) = found else {
        return Err(SsoError::NoAccount);
    };
    if subject.is_some() {
        return Err(SsoError::LinkedElsewhere);
    }
    diesel::update(users::table.find(&holder.id))
        .set(users::sso_subject.eq(&identity.subject))
        .execute(conn)?;
    audit::record(
        conn,
        now,
        Event {
            actor: Some(&holder.id),
            partner: holder.partner_id.as_deref(),
            action: Action::SsoLinked,
            object_type: "user",
            object_id: Some(&holder.id),
            address: Some(address),
            details: json!({}),
        },
    )?;
    Ok(holder)
}

/// Records a sign-in through the provider that opened no session.
pub fn record_failure(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    error: &SsoError,
    address: &str,
) -> Result<(), DbError> {
    audit::record(
        conn,
        now,
        Event {
            actor: None,
            partner: None,
            action: Action::SsoFailed,
            object_type: "session",
            object_id: None,
            address: Some(address),
            details: json!({ "reason": error.code() }),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(issuer: &str, client: &str, name: &str) -> SsoSettings {
        SsoSettings {
            issuer_url: issuer.to_owned(),
            client_id: client.to_owned(),
            client_secret: String::new(),
            display_name: name.to_owned(),
            timeout_secs: 5,
        }
    }

    #[test]
    fn off_without_an_issuer() {
        let provider = Provider::from_settings(&settings("", "", ""), "http://127.0.0.1:8080");
        assert!(matches!(provider, Ok(None)));
    }

    #[test]
    fn an_issuer_needs_a_client_and_a_name() {
        let base = "http://127.0.0.1:8080";
        let issuer = "https://identite.example.fr";
        for (broken, key) in [
            (settings(issuer, "", "ProConnect"), "sso.client_id"),
            (settings(issuer, "relais", " "), "sso.display_name"),
            (
                settings("pas une adresse", "relais", "ProConnect"),
                "sso.issuer_url",
            ),
        ] {
            match Provider::from_settings(&broken, base) {
                Err(message) => assert!(message.contains(key), "{message}"),
                Ok(_) => panic!("accepted without {key}"),
            }
        }
        let provider = Provider::from_settings(&settings(issuer, "relais", "ProConnect"), base);
        assert!(matches!(provider, Ok(Some(p)) if p.display_name == "ProConnect"));
    }
}
