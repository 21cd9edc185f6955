//! Putting a candidate forward for an offer.
//!
//! An offer without preselection takes a *mise en relation*, recorded by the
//! coach when the partner's agreement delegates it; the coach then hands the
//! candidate the offer sheet. An offer with preselection takes a *contact
//! request* instead: a mail to the recruitment mailbox of the agency that
//! manages the offer, carrying no personal data, only an expiring link to the
//! request, where the agency's team answers from a fixed list.
//!
//! The forms hold no free text (the agreement forbids it): names, the France
//! Travail identifier, and contact details only with the candidate's consent,
//! kept until the retention period after the last request made for them.

pub mod candidate;
pub mod mails;
pub mod retention;
pub mod store;

pub use candidate::{Candidate, CandidateForm};
pub use store::{
    Answered, Filter, LIST_LIMIT, LinkState, Listed, Referral, ReferralStatus, answer, by_link,
    correct_candidate, find, list, put_forward, sheet_printed,
};

use crate::db::DbError;

/// The two ways of putting someone forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Mise en relation: the partner puts the candidate forward itself.
    MiseEnRelation,
    /// Demande de contact: the agency's team decides.
    DemandeContact,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MiseEnRelation => "mise_en_relation",
            Kind::DemandeContact => "demande_contact",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        [Kind::MiseEnRelation, Kind::DemandeContact]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::MiseEnRelation => "mise en relation",
            Kind::DemandeContact => "demande de contact",
        }
    }

    fn reference_prefix(self) -> &'static str {
        match self {
            Kind::MiseEnRelation => "MER",
            Kind::DemandeContact => "DC",
        }
    }
}

/// The agency team's answer to a contact request: a fixed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Invited,
    CvRequested,
    NotRetained,
    OfferFilled,
}

impl Answer {
    pub const ALL: [Answer; 4] = [
        Answer::Invited,
        Answer::CvRequested,
        Answer::NotRetained,
        Answer::OfferFilled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Invited => "candidat_convoque",
            Answer::CvRequested => "cv_demande",
            Answer::NotRetained => "candidature_non_retenue",
            Answer::OfferFilled => "offre_pourvue",
        }
    }

    pub fn parse(raw: &str) -> Option<Answer> {
        Answer::ALL.into_iter().find(|a| a.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Answer::Invited => "candidat convoqué",
            Answer::CvRequested => "CV demandé",
            Answer::NotRetained => "candidature non retenue",
            Answer::OfferFilled => "offre pourvue",
        }
    }
}

/// Why a candidacy was not retained: a fixed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ProfileMismatch,
    NotEnoughExperience,
    ContractConditions,
    OtherCandidate,
    Unreachable,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::ProfileMismatch,
        Reason::NotEnoughExperience,
        Reason::ContractConditions,
        Reason::OtherCandidate,
        Reason::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ProfileMismatch => "profil_non_adapte",
            Reason::NotEnoughExperience => "experience_insuffisante",
            Reason::ContractConditions => "conditions_du_contrat",
            Reason::OtherCandidate => "autre_candidat_retenu",
            Reason::Unreachable => "candidat_injoignable",
        }
    }

    pub fn parse(raw: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Reason::ProfileMismatch => "profil ne correspondant pas au poste",
            Reason::NotEnoughExperience => "expérience ou qualification insuffisante",
            Reason::ContractConditions => {
                "conditions d'accès au contrat non remplies (ex. éligibilité au contrat aidé)"
            }
            Reason::OtherCandidate => "un autre candidat a été retenu",
            Reason::Unreachable => "candidat injoignable",
        }
    }
}

/// Where the links in mails lead, and how long a request's link lasts.
#[derive(Debug, Clone)]
pub struct Links {
    /// e.g. "https://relais.example.fr", without a trailing slash.
    pub base_url: String,
    pub validity_days: i64,
}

impl Links {
    pub fn request(&self, token: &str) -> String {
        format!("{}{AGENCY_PATH}/{token}", self.base_url)
    }

    pub fn record(&self, id: &str) -> String {
        format!("{}{RECORDS_PATH}/{id}", self.base_url)
    }
}

/// Where the agency opens a request, and where partners find their records.
pub const AGENCY_PATH: &str = "/agence/demandes";
pub const RECORDS_PATH: &str = "/mises-en-relation";

#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    #[error("Cette offre n'existe pas ou plus.")]
    UnknownOffer,
    #[error("Cette mise en relation n'existe pas.")]
    UnknownRecord,
    #[error(
        "Cette offre n'est plus active (elle a été suspendue, annulée ou pourvue) : \
         elle n'accepte plus de candidature. Cherchez une offre proche dans la recherche."
    )]
    OfferInactive,
    #[error(
        "Cette personne a déjà été proposée pour cette offre, par une mise en relation ou une \
         demande de contact : une même personne ne l'est qu'une fois par offre."
    )]
    AlreadyPutForward,
    #[error(
        "La convention de votre structure ne comprend pas la délégation de la mise en relation : \
         adressez la candidature à l'agence qui gère l'offre, ou demandez à votre responsable \
         de gestion des comptes de faire étendre la convention."
    )]
    NotInScope,
    #[error("{}", crate::accounts::OFFERS_NOT_IN_SCOPE)]
    OffersNotInScope,
    #[error(
        "Cette offre est avec présélection : l'équipe de l'agence choisit les candidats. \
         Envoyez-lui une demande de contact."
    )]
    PreselectedOffer,
    #[error("Cette offre est sans présélection : enregistrez directement la mise en relation.")]
    NotPreselected,
    #[error("Seuls les comptes d'une structure partenaire peuvent positionner un candidat.")]
    NotAPartner,
    #[error("L'agence {0} qui gère l'offre n'a pas de boîte de recrutement connue.")]
    UnknownAgency(String),
    #[error(
        "Les données de cette personne ont été effacées au terme de leur durée de conservation : \
         il n'y a plus rien à corriger."
    )]
    Anonymised,
    #[error(
        "Ce formulaire avait déjà servi pour un autre candidat : rien n'est enregistré. \
         Vérifiez la personne ci-dessous et envoyez à nouveau."
    )]
    FormReused,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for ReferralError {
    fn from(error: diesel::result::Error) -> Self {
        ReferralError::Database(error.into())
    }
}

/// A short reference people can quote on the phone: "DC-3F9A1B2C7E".
fn new_reference(kind: Kind) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{}-{}", kind.reference_prefix(), &random[..10])
}
