//! The audit trail: append-only records of who did what, when, on which
//! object, from where. Details never hold a password, a token or a job
//! seeker's data.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    PartnerCreated,
    PartnerUpdated,
    AccountCreated,
    AccountActivated,
    AccountDeactivated,
    AccountSuspended,
    AccountReactivated,
    AccountDeleted,
    AccountUpdated,
    PasswordReset,
    PasswordChanged,
    RoleChanged,
    LoginSucceeded,
    LoginFailed,
    Logout,
    ReferralRecorded,
    ContactRequested,
    OfferSheetPrinted,
    RequestAnswered,
    CandidateCorrected,
    MailFailed,
    MailRetried,
    SsoLinked,
    SsoUnlinked,
    SsoFailed,
    CandidatesAnonymised,
    AnnouncementPublished,
    AnnouncementWithdrawn,
}

impl Action {
    pub const ALL: [Action; 28] = [
        Action::PartnerCreated,
        Action::PartnerUpdated,
        Action::AccountCreated,
        Action::AccountActivated,
        Action::AccountDeactivated,
        Action::AccountSuspended,
        Action::AccountReactivated,
        Action::AccountDeleted,
        Action::AccountUpdated,
        Action::PasswordReset,
        Action::PasswordChanged,
        Action::RoleChanged,
        Action::LoginSucceeded,
        Action::LoginFailed,
        Action::Logout,
        Action::ReferralRecorded,
        Action::ContactRequested,
        Action::OfferSheetPrinted,
        Action::RequestAnswered,
        Action::CandidateCorrected,
        Action::MailFailed,
        Action::MailRetried,
        Action::SsoLinked,
        Action::SsoUnlinked,
        Action::SsoFailed,
        Action::CandidatesAnonymised,
        Action::AnnouncementPublished,
        Action::AnnouncementWithdrawn,
    ];

    pub fn parse(raw: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == raw)
    }

    /// In French, for pages.
    pub fn label(self) -> &'static str {
        match self {
            Action::PartnerCreated => "structure enregistrée",
            Action::PartnerUpdated => "convention modifiée",
            Action::AccountCreated => "compte créé",
            Action::AccountActivated => "compte activé",
            Action::AccountDeactivated => "compte désactivé",
            Action::AccountSuspended => "compte suspendu (inactivité)",
            Action::AccountReactivated => "compte réactivé",
            Action::AccountDeleted => "compte supprimé",
            Action::AccountUpdated => "coordonnées modifiées",
            Action::PasswordReset => "mot de passe réinitialisé",
            Action::PasswordChanged => "mot de passe changé",
            Action::RoleChanged => "rôle changé",
            Action::LoginSucceeded => "connexion",
            Action::LoginFailed => "échec de connexion",
            Action::Logout => "déconnexion",
            Action::ReferralRecorded => "mise en relation enregistrée",
            Action::ContactRequested => "demande de contact envoyée",
            Action::OfferSheetPrinted => "fiche de l'offre éditée",
            Action::RequestAnswered => "réponse de l'agence",
            Action::CandidateCorrected => "données d'une personne accompagnée corrigées",
            Action::MailFailed => "courriel en échec",
            Action::MailRetried => "courriel renvoyé",
            Action::SsoLinked => "compte relié à l'identité du fournisseur",
            Action::SsoUnlinked => "compte délié de l'identité du fournisseur",
            Action::SsoFailed => "échec de connexion par le fournisseur d'identité",
            Action::CandidatesAnonymised => "données de personnes accompagnées effacées",
            Action::AnnouncementPublished => "annonce de service publiée",
            Action::AnnouncementWithdrawn => "annonce de service retirée",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::PartnerCreated => "partner_created",
            Action::PartnerUpdated => "partner_updated",
            Action::AccountCreated => "account_created",
            Action::AccountActivated => "account_activated",
            Action::AccountDeactivated => "account_deactivated",
            Action::AccountSuspended => "account_suspended",
            Action::AccountReactivated => "account_reactivated",
            Action::AccountDeleted => "account_deleted",
            Action::AccountUpdated => "account_updated",
            Action::PasswordReset => "password_reset",
            Action::PasswordChanged => "password_changed",
            Action::RoleChanged => "role_changed",
            Action::LoginSucceeded => "login_succeeded",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::ReferralRecorded => "referral_recorded",
            Action::ContactRequested => "contact_requested",
            Action::OfferSheetPrinted => "offer_sheet_printed",
            Action::RequestAnswered => "request_answered",
            Action::CandidateCorrected => "candidate_corrected",
            Action::MailFailed => "mail_failed",
            Action::MailRetried => "mail_retried",
            Action::SsoLinked => "sso_linked",
            Action::SsoUnlinked => "sso_unlinked",
            Action::SsoFailed => "sso_failed",
            Action::CandidatesAnonymised => "candidates_anonymised",
            Action::AnnouncementPublished => "announcement_published",
            Action::AnnouncementWithdrawn => "announcement_withdrawn",
        }
    }
}

/// Who acts, and from where (`None` where the system acts: jobs, commands).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub address: String,
}

/// One event to record.
pub struct Event<'a> {
    pub actor: Option<&'a str>,
    pub partner: Option<&'a str>,
    pub action: Action,
    pub object_type: &'static str,
    pub object_id: Option<&'a str>,
    pub address: Option<&'a str>,
    /// Free of personal data: identifiers and codes only.
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit)]
pub struct Record {
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub partner_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub address: Option<String>,
    pub details: String,
}

impl Record {
    /// What the operation was on, in French, for pages.
    pub fn object_label(&self) -> &str {
        match self.object_type.as_str() {
            "user" => "compte",
            "referral" => "mise en relation",
            "partner" => "structure",
            "announcement" => "annonce",
            "mail" => "courriel",
            "session" => "session",
            other => other,
        }
    }
}

pub fn record(conn: &mut DbConnection, at: NaiveDateTime, event: Event) -> Result<(), DbError> {
    diesel::insert_into(audit::table)
        .values((
            audit::id.eq(uuid::Uuid::new_v4().to_string()),
            audit::at.eq(at),
            audit::actor_id.eq(event.actor),
            audit::partner_id.eq(event.partner),
            audit::action.eq(event.action.as_str()),
            audit::object_type.eq(event.object_type),
            audit::object_id.eq(event.object_id),
            audit::address.eq(event.address),
            audit::details.eq(event.details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// What to look for in the trail.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub partner: Option<String>,
    /// Operations by or on this account.
    pub person: Option<String>,
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Matching records, newest first, at most `limit`.
pub fn search(
    conn: &mut DbConnection,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Record>, DbError> {
    let mut query = audit::table.into_boxed();
    if let Some(partner) = &filter.partner {
        query = query.filter(audit::partner_id.eq(partner));
    }
    if let Some(person) = &filter.person {
        query = query.filter(audit::actor_id.eq(person).or(audit::object_id.eq(person)));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit::action.eq(action));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit::at.lt(to));
    }
    Ok(query
        .order(audit::at.desc())
        .limit(limit)
        .select(Record::as_select())
        .load(conn)?)
}
