//! Recording, finding, listing and answering referrals.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;

use super::candidate::Candidate;
use super::mails::{self, AnswerMail, RequestMail};
use super::{Answer, Kind, Links, Reason, ReferralError, new_reference};
use crate::accounts::{Account, Partner};
use crate::activity::Month;
use crate::agencies;
use crate::audit::{self, Action, Event};
use crate::clock::in_paris;
use crate::db::schema::{offers, outbox, referrals, users};
use crate::db::{DbConnection, DbError};
use crate::mail::EmailAddress;
use crate::mail::outbox::{self as mail_outbox, MailStatus, Message};
use crate::offers::document::Fields;
use crate::offers::model::text_at;
use crate::offers::{Offer, OfferId, OfferStatus, store as offer_store};
use crate::secrets;

/// The most records a list shows.
pub const LIST_LIMIT: usize = 1000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct Referral {
    pub id: String,
    pub reference: String,
    pub kind: String,
    pub partner_id: String,
    pub coach_id: String,
    pub offer_id: String,
    pub agency_code: String,
    pub offer_title: String,
    pub company: Option<String>,
    pub contract: Option<String>,
    pub place: Option<String>,
    pub offer_document: String,
    pub candidate_last_name: String,
    pub candidate_first_name: String,
    pub candidate_identifier: String,
    pub candidate_email: Option<String>,
    pub candidate_phone: Option<String>,
    pub created_at: NaiveDateTime,
    pub link_expires_at: Option<NaiveDateTime>,
    pub message_id: Option<String>,
    pub answer: Option<String>,
    pub answer_reason: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    /// When the candidate's data was erased (see `retention`).
    pub anonymised_at: Option<NaiveDateTime>,
}

impl Referral {
    /// The candidate as pages show them, or when their data was erased.
    pub fn candidate_name(&self) -> String {
        match self.anonymised_at {
            Some(at) => format!("Personne anonymisée le {}", in_paris(at).format("%d/%m/%Y")),
            None => format!("{} {}", self.candidate_first_name, self.candidate_last_name),
        }
    }

    /// The candidate's France Travail identifier, while it is kept.
    pub fn candidate_identifier(&self) -> Option<&str> {
        match self.anonymised_at {
            Some(_) => None,
            None => Some(&self.candidate_identifier),
        }
    }

    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::MiseEnRelation)
    }

    pub fn answer(&self) -> Option<Answer> {
        self.answer.as_deref().and_then(Answer::parse)
    }

    pub fn reason(&self) -> Option<Reason> {
        self.answer_reason.as_deref().and_then(Reason::parse)
    }

    /// The offer as it was when the candidate was put forward.
    pub fn offer_document(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::from_str(&self.offer_document) {
            Ok(serde_json::Value::Object(document)) => document,
            _ => serde_json::Map::new(),
        }
    }
}

/// Where a referral stands, as partners see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralStatus {
    /// A mise en relation, or a request whose mail has not left yet.
    Recorded,
    /// The request's mail reached the mail server.
    Sent,
    /// The request's mail could not be delivered (the RGC can send it again).
    SendFailed,
    Answered(Answer),
}

impl ReferralStatus {
    /// The codes of the list's status filter.
    pub const CODES: [(&'static str, &'static str); 4] = [
        ("enregistree", "enregistrée"),
        ("envoyee", "envoyée"),
        ("en_echec", "en échec d'envoi"),
        ("repondue", "répondue"),
    ];

    fn of(referral: &Referral, mail: Option<&str>) -> ReferralStatus {
        if let Some(answer) = referral.answer() {
            return ReferralStatus::Answered(answer);
        }
        match mail.and_then(MailStatus::parse) {
            Some(MailStatus::Sent) => ReferralStatus::Sent,
            Some(MailStatus::Failed) => ReferralStatus::SendFailed,
            _ => ReferralStatus::Recorded,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ReferralStatus::Recorded => "enregistree",
            ReferralStatus::Sent => "envoyee",
            ReferralStatus::SendFailed => "en_echec",
            ReferralStatus::Answered(_) => "repondue",
        }
    }

    pub fn label(self) -> String {
        match self {
            ReferralStatus::Answered(answer) => format!("répondue : {}", answer.label()),
            other => ReferralStatus::CODES
                .iter()
                .find(|(code, _)| *code == other.code())
                .map_or_else(String::new, |(_, label)| (*label).to_owned()),
        }
    }
}

/// A referral with who made it and where it stands.
#[derive(Debug, Clone)]
pub struct Listed {
    pub referral: Referral,
    pub coach_name: String,
    pub status: ReferralStatus,
}

/// What to list: one partner's referrals, narrowed down.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub partner: String,
    pub coach: Option<String>,
    /// One of `ReferralStatus::CODES`.
    pub status: Option<String>,
    pub agency: Option<String>,
    /// A month as counted in Paris, as the activity follow-up counts it.
    pub month: Option<Month>,
}

type Row = (Referral, Option<String>, Option<String>);

fn with_status((referral, coach_name, mail): Row) -> Listed {
    let status = ReferralStatus::of(&referral, mail.as_deref());
    Listed {
        referral,
        coach_name: coach_name.unwrap_or_else(|| "compte supprimé".to_owned()),
        status,
    }
}

/// Newest first, at most a thousand.
pub fn list(conn: &mut DbConnection, filter: &Filter) -> Result<Vec<Listed>, DbError> {
    let mut query = referrals::table
        .inner_join(users::table)
        .left_join(outbox::table.on(referrals::message_id.eq(outbox::id.nullable())))
        .filter(referrals::partner_id.eq(&filter.partner))
        .into_boxed();
    if let Some(coach) = &filter.coach {
        query = query.filter(referrals::coach_id.eq(coach));
    }
    if let Some(agency) = &filter.agency {
        query = query.filter(referrals::agency_code.eq(agency));
    }
    if let Some(month) = filter.month {
        query = query
            .filter(referrals::created_at.ge(month.start()))
            .filter(referrals::created_at.lt(month.next().start()));
    }
    // A status depends on the answer and on the mail's delivery, as
    // `ReferralStatus::of` reads them: filtered on here, so the limit
    // applies after it.
    if filter.status.is_none() {
        query = query.limit(LIST_LIMIT as i64);
    }
    let rows: Vec<Row> = query
        .order(referrals::created_at.desc())
        .select((
            Referral::as_select(),
            users::full_name,
            outbox::status.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(with_status)
        .filter(|listed| {
            filter
                .status
                .as_deref()
                .is_none_or(|code| listed.status.code() == code)
        })
        .take(LIST_LIMIT)
        .collect())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Listed>, DbError> {
    let row: Option<Row> = referrals::table
        .inner_join(users::table)
        .left_join(outbox::table.on(referrals::message_id.eq(outbox::id.nullable())))
        .filter(referrals::id.eq(id))
        .select((
            Referral::as_select(),
            users::full_name,
            outbox::status.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(with_status))
}

/// Puts a candidate forward for an offer: a mise en relation, or a contact
/// request whose mail leaves through the outbox. The same form sent twice
/// (same idempotency key) gives the same record. Returns its id.
#[allow(clippy::too_many_arguments)]
pub fn put_forward(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    coach: &Account,
    partner: &Partner,
    offer_id: &OfferId,
    kind: Kind,
    candidate: &Candidate,
    idempotency_key: &str,
    links: &Links,
    address: &str,
) -> Result<String, ReferralError> {
    let recorded = conn.transaction(|conn| {
        // Write first: SQLite takes its lock now, PostgreSQL locks the offer's
        // row, so two requests for one offer are checked one after the other.
        let exists = diesel::update(offers::table.find(offer_id.as_str()))
            .set(offers::id.eq(offers::id))
            .execute(conn)?;
        if let Some(id) = by_idempotency_key(conn, coach, idempotency_key, offer_id, candidate)? {
            return Ok(id);
        }
        let stored = match offer_store::find(conn, offer_id)? {
            Some(stored) if exists > 0 => stored,
            _ => return Err(ReferralError::UnknownOffer),
        };
        if !partner.terms.offers_service {
            return Err(ReferralError::OffersNotInScope);
        }
        if stored.status() != Some(OfferStatus::Active) {
            return Err(ReferralError::OfferInactive);
        }
        let document = stored.document();
        let facts = Offer::facts_of(&Fields::of(&document)).ok_or(ReferralError::UnknownOffer)?;
        match (kind, facts.with_preselection) {
            (Kind::MiseEnRelation, true) => return Err(ReferralError::PreselectedOffer),
            (Kind::DemandeContact, false) => return Err(ReferralError::NotPreselected),
            (Kind::MiseEnRelation, false) if !partner.terms.referrals_service => {
                return Err(ReferralError::NotInScope);
            }
            _ => {}
        }
        let duplicate: i64 = referrals::table
            .filter(referrals::offer_id.eq(offer_id.as_str()))
            .filter(referrals::candidate_identifier.eq(&candidate.identifier))
            .count()
            .get_result(conn)?;
        if duplicate > 0 {
            return Err(ReferralError::AlreadyPutForward);
        }

        let id = uuid::Uuid::new_v4().to_string();
        let reference = new_reference(kind);
        let text = |path: &[&str]| text_at(&document, path).map(str::to_owned);
        let company = text(&["entreprise", "nom"]);
        let mut link = None;
        let mut message_id = None;
        if kind == Kind::DemandeContact {
            let agency = agencies::find(conn, &facts.agency_code)?
                .ok_or_else(|| ReferralError::UnknownAgency(facts.agency_code.clone()))?;
            let mailbox = EmailAddress::parse(&agency.mailbox)
                .ok_or_else(|| ReferralError::UnknownAgency(facts.agency_code.clone()))?;
            let token = secrets::random_token();
            let expires = now + Duration::days(links.validity_days);
            let coach_email = users::table
                .find(&coach.id)
                .select((users::email, users::job_title))
                .first::<(Option<String>, Option<String>)>(conn)?;
            let (subject, body) = mails::request(&RequestMail {
                reference: &reference,
                offer_id: offer_id.as_str(),
                offer_title: &facts.title,
                company: company.as_deref(),
                agency_name: &agency.name,
                partner_name: &partner.terms.name,
                coach_name: coach.full_name.as_deref().unwrap_or(&coach.login),
                coach_job_title: coach_email.1.as_deref(),
                coach_email: coach_email.0.as_deref(),
                sent_at: now,
                link: &links.request(&token),
                link_expires_at: expires,
            });
            message_id = Some(mail_outbox::enqueue(
                conn,
                now,
                Message {
                    to: mailbox,
                    subject,
                    body,
                    partner: Some(partner.id.clone()),
                },
            )?);
            link = Some((secrets::digest(&token), expires));
        }
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(&id),
                referrals::reference.eq(&reference),
                referrals::kind.eq(kind.as_str()),
                referrals::partner_id.eq(&partner.id),
                referrals::coach_id.eq(&coach.id),
                referrals::offer_id.eq(offer_id.as_str()),
                referrals::agency_code.eq(&facts.agency_code),
                referrals::offer_title.eq(&facts.title),
                referrals::company.eq(&company),
                referrals::contract.eq(text(&["typeContratLibelle"]).or(facts.contract_type)),
                referrals::place.eq(text(&["lieuTravail", "libelle"])),
                referrals::offer_document.eq(&stored.document),
                referrals::candidate_last_name.eq(&candidate.last_name),
                referrals::candidate_first_name.eq(&candidate.first_name),
                referrals::candidate_identifier.eq(&candidate.identifier),
                referrals::candidate_email.eq(&candidate.email),
                referrals::candidate_phone.eq(&candidate.phone),
                referrals::idempotency_key.eq(idempotency_key),
                referrals::created_at.eq(now),
                referrals::link_digest.eq(link.as_ref().map(|(digest, _)| digest)),
                referrals::link_expires_at.eq(link.as_ref().map(|(_, expires)| *expires)),
                referrals::message_id.eq(&message_id),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            Event {
                actor: Some(&coach.id),
                partner: Some(&partner.id),
                action: match kind {
                    Kind::MiseEnRelation => Action::ReferralRecorded,
                    Kind::DemandeContact => Action::ContactRequested,
                },
                object_type: "referral",
                object_id: Some(&id),
                address: Some(address),
                details: json!({
                    "reference": reference,
                    "offer": offer_id.as_str(),
                    "agency": facts.agency_code,
                }),
            },
        )?;
        Ok(id)
    });
    match recorded {
        // Two identical submissions at the same instant: the second lost the
        // race on a unique key; the first one's record is the answer.
        Err(ReferralError::Database(DbError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _,
        )))) => by_idempotency_key(conn, coach, idempotency_key, offer_id, candidate)?
            .ok_or(ReferralError::AlreadyPutForward),
        other => other,
    }
}

/// Corrects what a record says of its candidate: the right of
/// rectification, which people exercise through the partner that
/// accompanies them (the privacy notice says so). Withdrawing consent
/// erases the contact details. The trail records the correction, not the
/// data.
pub fn correct_candidate(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: &Account,
    id: &str,
    candidate: &Candidate,
    address: &str,
) -> Result<(), ReferralError> {
    let corrected = conn.transaction(|conn| {
        // Write first, as `put_forward` does: one change of a record at a time.
        let locked = diesel::update(referrals::table.find(id))
            .set(referrals::id.eq(referrals::id))
            .execute(conn)?;
        let referral: Referral = match locked {
            0 => return Err(ReferralError::UnknownRecord),
            _ => referrals::table
                .find(id)
                .select(Referral::as_select())
                .first(conn)?,
        };
        if referral.anonymised_at.is_some() {
            return Err(ReferralError::Anonymised);
        }
        let taken: i64 = referrals::table
            .filter(referrals::offer_id.eq(&referral.offer_id))
            .filter(referrals::candidate_identifier.eq(&candidate.identifier))
            .filter(referrals::id.ne(id))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(ReferralError::AlreadyPutForward);
        }
        diesel::update(referrals::table.find(id))
            .set((
                referrals::candidate_last_name.eq(&candidate.last_name),
                referrals::candidate_first_name.eq(&candidate.first_name),
                referrals::candidate_identifier.eq(&candidate.identifier),
                referrals::candidate_email.eq(&candidate.email),
                referrals::candidate_phone.eq(&candidate.phone),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            record_event(actor, &referral, Action::CandidateCorrected, address),
        )?;
        Ok(())
    });
    match corrected {
        // Another record of the offer took the identifier meanwhile.
        Err(ReferralError::Database(DbError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _,
        )))) => Err(ReferralError::AlreadyPutForward),
        other => other,
    }
}

/// The record this form already made: the same form sent again. The same
/// key with another offer or candidate is a form kept and filled anew, which
/// must not pass for a success.
fn by_idempotency_key(
    conn: &mut DbConnection,
    coach: &Account,
    key: &str,
    offer_id: &OfferId,
    candidate: &Candidate,
) -> Result<Option<String>, ReferralError> {
    let found: Option<(String, String, String, String)> = referrals::table
        .filter(referrals::idempotency_key.eq(key))
        .select((
            referrals::id,
            referrals::coach_id,
            referrals::offer_id,
            referrals::candidate_identifier,
        ))
        .first(conn)
        .optional()?;
    match found {
        Some((id, owner, offer, identifier))
            if owner == coach.id
                && offer == offer_id.as_str()
                && identifier == candidate.identifier =>
        {
            Ok(Some(id))
        }
        Some((_, owner, _, _)) if owner == coach.id => Err(ReferralError::FormReused),
        Some(_) => Err(ReferralError::AlreadyPutForward),
        None => Ok(None),
    }
}

/// A person's operation on a record, as the trail keeps it: by its
/// reference, never with the candidate's data.
fn record_event<'a>(
    by: &'a Account,
    referral: &'a Referral,
    action: Action,
    address: &'a str,
) -> Event<'a> {
    Event {
        actor: Some(&by.id),
        partner: Some(&referral.partner_id),
        action,
        object_type: "referral",
        object_id: Some(&referral.id),
        address: Some(address),
        details: json!({ "reference": referral.reference }),
    }
}

/// Records that the offer sheet of a mise en relation was produced.
pub fn sheet_printed(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    referral: &Referral,
    by: &Account,
    address: &str,
) -> Result<(), DbError> {
    audit::record(
        conn,
        now,
        record_event(by, referral, Action::OfferSheetPrinted, address),
    )
}

/// What a request's link leads to.
#[derive(Debug)]
pub enum LinkState {
    Valid(Box<Listed>),
    Expired,
    Unknown,
}

/// The request a link opens, if the link is genuine and still valid.
pub fn by_link(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    token: &str,
) -> Result<LinkState, DbError> {
    let id: Option<(String, Option<NaiveDateTime>)> = referrals::table
        .filter(referrals::link_digest.eq(secrets::digest(token)))
        .select((referrals::id, referrals::link_expires_at))
        .first(conn)
        .optional()?;
    match id {
        None => Ok(LinkState::Unknown),
        Some((_, Some(expires))) if expires <= now => Ok(LinkState::Expired),
        Some((id, _)) => Ok(find(conn, &id)?.map_or(LinkState::Unknown, |listed| {
            LinkState::Valid(Box::new(listed))
        })),
    }
}

#[derive(Debug)]
pub enum Answered {
    /// This answer is recorded; the coach is told.
    Recorded,
    /// The request had an answer already: it stays.
    AlreadyAnswered,
    LinkExpired,
    LinkUnknown,
}

/// Records the agency's answer to a request, once, and tells the coach.
pub fn answer(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    token: &str,
    answer: Answer,
    reason: Option<Reason>,
    links: &Links,
    address: &str,
) -> Result<Answered, DbError> {
    conn.transaction(|conn| {
        let digest = secrets::digest(token);
        let updated = diesel::update(
            referrals::table
                .filter(referrals::link_digest.eq(&digest))
                .filter(referrals::link_expires_at.gt(now))
                .filter(referrals::answer.is_null()),
        )
        .set((
            referrals::answer.eq(answer.as_str()),
            referrals::answer_reason.eq(reason.map(Reason::as_str)),
            referrals::answered_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Ok(match by_link(conn, now, token)? {
                LinkState::Valid(_) => Answered::AlreadyAnswered,
                LinkState::Expired => Answered::LinkExpired,
                LinkState::Unknown => Answered::LinkUnknown,
            });
        }
        let referral: Referral = referrals::table
            .filter(referrals::link_digest.eq(&digest))
            .select(Referral::as_select())
            .first(conn)?;
        let agency_name = agencies::find(conn, &referral.agency_code)?
            .map_or_else(|| referral.agency_code.clone(), |a| a.name);
        let coach_email: Option<String> = users::table
            .find(&referral.coach_id)
            .select(users::email)
            .first(conn)?;
        if let Some(to) = coach_email.as_deref().and_then(EmailAddress::parse) {
            let (subject, body) = mails::answer(&AnswerMail {
                reference: &referral.reference,
                offer_id: &referral.offer_id,
                offer_title: &referral.offer_title,
                agency_name: &agency_name,
                answer: answer.label(),
                reason: reason.map(Reason::label),
                link: &links.record(&referral.id),
            });
            mail_outbox::enqueue(
                conn,
                now,
                Message {
                    to,
                    subject,
                    body,
                    partner: Some(referral.partner_id.clone()),
                },
            )?;
        }
        audit::record(
            conn,
            now,
            Event {
                actor: None,
                partner: Some(&referral.partner_id),
                action: Action::RequestAnswered,
                object_type: "referral",
                object_id: Some(&referral.id),
                address: Some(address),
                details: json!({
                    "reference": referral.reference,
                    "answer": answer.as_str(),
                    "reason": reason.map(Reason::as_str),
                }),
            },
        )?;
        Ok(Answered::Recorded)
    })
}
