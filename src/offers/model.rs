//! An offer as France Travail's "Offres d'emploi v2" describes it, plus our
//! fields (`codeAgence`, `publiee`, `avecPreselection`, `contratAide`, `iae`).
//!
//! `Offer::parse` is the one place where a document is checked; the store and
//! the search index both work from what it derives (`OfferFacts`).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::document::{Fields, Json};
use crate::referentials::{self, CONTRACT_NATURES};

/// An offer identifier: 1 to 32 letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferId(String);

impl OfferId {
    pub fn parse(raw: &str) -> Option<OfferId> {
        let valid = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        valid.then(|| OfferId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OfferStatus {
    Active,
    Suspendue,
    Annulee,
    Pourvue,
}

impl OfferStatus {
    pub const ALL: [OfferStatus; 4] = [
        OfferStatus::Active,
        OfferStatus::Suspendue,
        OfferStatus::Annulee,
        OfferStatus::Pourvue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Active => "active",
            OfferStatus::Suspendue => "suspendue",
            OfferStatus::Annulee => "annulee",
            OfferStatus::Pourvue => "pourvue",
        }
    }

    pub fn parse(raw: &str) -> Option<OfferStatus> {
        OfferStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// One problem with a submitted offer: the field (dotted path) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub champ: String,
    pub message: String,
}

/// A checked offer: the document as it will be kept and shown (our fields
/// filled with their defaults) and what search and storage need from it.
#[derive(Debug, Clone)]
pub struct Offer {
    pub id: OfferId,
    pub document: Map<String, Value>,
    pub facts: OfferFacts,
}

/// What is filtered, sorted or faceted on, derived from the document.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferFacts {
    pub title: String,
    pub agency_code: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub contract_type: Option<String>,
    /// France Travail nature code (E1, E2…), from the code or its label.
    pub contract_nature: Option<String>,
    pub rome_code: Option<String>,
    pub sector: Option<String>,
    /// 0 not stated, 1 under a year (beginners welcome), 2 one to three
    /// years, 3 over three years.
    pub experience: u8,
    /// 0 non-cadre, 9 cadre.
    pub qualification: Option<u8>,
    pub full_time: Option<bool>,
    pub accessible_th: bool,
    pub commune: Option<String>,
    pub department: Option<String>,
    /// The offer's own point, or its commune's when it has none.
    pub position: Option<(f64, f64)>,
    pub published: bool,
    pub with_preselection: bool,
    pub aided_contract: bool,
    pub iae: bool,
    /// Text matched by keywords besides the title.
    pub searchable_text: String,
}

impl Offer {
    /// Checks a submitted document. `agencies` are the configured codes.
    pub fn parse(value: Value, agencies: &HashSet<String>) -> Result<Offer, Vec<FieldError>> {
        let Value::Object(mut document) = value else {
            return Err(vec![error("", "un objet JSON (une offre) est attendu")]);
        };
        let mut errors = Vec::new();
        for (field, default) in [
            ("publiee", true),
            ("avecPreselection", false),
            ("contratAide", false),
            ("iae", false),
        ] {
            match document.get(field) {
                None | Some(Value::Null) => {
                    document.insert(field.to_owned(), Value::Bool(default));
                }
                Some(Value::Bool(_)) => {}
                Some(_) => errors.push(error(field, "vrai ou faux (true/false) attendu")),
            }
        }
        let fields = Fields::of(&document);
        let facts = Reader {
            document: &fields,
            errors: &mut errors,
        }
        .facts(agencies);
        let id = match fields.get("id") {
            Some(Json::Text(raw)) => OfferId::parse(raw).or_else(|| {
                errors.push(error(
                    "id",
                    "identifiant invalide : 1 à 32 lettres, chiffres, « - », « _ » ou « . »",
                ));
                None
            }),
            Some(_) => {
                errors.push(error("id", "texte attendu"));
                None
            }
            None => {
                errors.push(error("id", "champ obligatoire"));
                None
            }
        };
        match (id, facts) {
            (Some(id), Some(facts)) if errors.is_empty() => Ok(Offer {
                id,
                document,
                facts,
            }),
            _ => Err(errors),
        }
    }

    /// The facts of a document already checked and stored.
    pub fn facts_of(document: &Fields) -> Option<OfferFacts> {
        let mut errors = Vec::new();
        let facts = Reader {
            document,
            errors: &mut errors,
        }
        .facts_unchecked_agency();
        facts.filter(|_| errors.is_empty())
    }
}

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        champ: field.to_owned(),
        message: message.to_owned(),
    }
}

/// Reads fields from a document, noting each problem.
struct Reader<'a> {
    document: &'a Fields<'a>,
    errors: &'a mut Vec<FieldError>,
}

impl<'a> Reader<'a> {
    fn facts(&mut self, agencies: &HashSet<String>) -> Option<OfferFacts> {
        let facts = self.facts_unchecked_agency()?;
        if !agencies.contains(&facts.agency_code) {
            self.errors.push(error(
                "codeAgence",
                &format!("agence « {} » inconnue de relais", facts.agency_code),
            ));
            return None;
        }
        Some(facts)
    }

    fn facts_unchecked_agency(&mut self) -> Option<OfferFacts> {
        let title = self.required_text("intitule");
        let agency_code = self.required_text("codeAgence");
        let created_at = self.date("dateCreation", true);
        let updated_at = self.date("dateActualisation", false);
        let place = self.object("lieuTravail");
        let company = self.object("entreprise");
        let salary = self.object("salaire");
        let description = self.text("description");
        let contract_type = self.text("typeContrat");
        let nature = self.text("natureContrat");
        let rome_code = self.text("romeCode");
        let sector = self.text("secteurActivite");
        let experience_required = self.text("experienceExige");
        let experience_label = self.text("experienceLibelle");
        let qualification = self.qualification();
        let full_time = self.text("dureeTravailLibelleConverti");
        let accessible_th = self.boolean("accessibleTH");
        self.boolean("alternance");
        self.integer("nombrePostes");
        let skills = self.skills();
        let mut searchable = Vec::new();
        for field in ["romeLibelle", "appellationlibelle"] {
            if let Some(text) = self.text(field) {
                searchable.push(text.to_owned());
            }
        }

        let (commune, postal_code, place_label, point) = match place {
            Some(place) => self.place(place),
            None => (None, None, None, None),
        };
        if let Some(company) = company {
            match company.get("nom") {
                None | Some(Json::Null) => {}
                Some(Json::Text(name)) => searchable.push(name.to_string()),
                Some(_) => self.errors.push(error("entreprise.nom", "texte attendu")),
            }
        }
        if let Some(salary) = salary
            && !matches!(
                salary.get("libelle"),
                None | Some(Json::Null | Json::Text(_))
            )
        {
            self.errors.push(error("salaire.libelle", "texte attendu"));
        }
        if let Some(code) = experience_required
            && !["D", "S", "E"].contains(&code)
        {
            self.errors
                .push(error("experienceExige", "« D », « S » ou « E » attendu"));
        }
        if let Some(code) = rome_code
            && !is_rome_code(code)
        {
            self.errors.push(error(
                "romeCode",
                "code ROME attendu (une lettre et quatre chiffres, ex. F1602)",
            ));
        }
        if let Some(code) = sector
            && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()))
        {
            self.errors.push(error(
                "secteurActivite",
                "division NAF attendue (deux chiffres)",
            ));
        }
        searchable.extend(skills);
        if let Some(description) = description {
            searchable.push(description.to_owned());
        }

        let commune_ref = commune.and_then(|code| referentials::get().commune(code));
        let department = commune_ref
            .map(|c| c.department.clone())
            .or_else(|| place_label.and_then(department_from_label))
            .or_else(|| postal_code.and_then(department_from_postal_code));
        let position = point.or_else(|| commune_ref.map(|c| (c.latitude, c.longitude)));
        let created_at = created_at?;
        Some(OfferFacts {
            title: title?.to_owned(),
            agency_code: agency_code?.to_owned(),
            created_at,
            updated_at: updated_at.unwrap_or(created_at),
            contract_type: contract_type.map(str::to_owned),
            contract_nature: nature.map(nature_code),
            rome_code: rome_code.map(str::to_owned),
            sector: sector.map(str::to_owned),
            experience: experience_class(experience_required, experience_label),
            qualification,
            full_time: full_time.and_then(|label| match label {
                "Temps plein" => Some(true),
                "Temps partiel" => Some(false),
                _ => None,
            }),
            accessible_th: accessible_th.unwrap_or(false),
            commune: commune.map(str::to_owned),
            department,
            position,
            published: self.flag("publiee"),
            with_preselection: self.flag("avecPreselection"),
            aided_contract: self.flag("contratAide"),
            iae: self.flag("iae"),
            searchable_text: searchable.join("\n"),
        })
    }

    fn text(&mut self, field: &str) -> Option<&'a str> {
        let document = self.document;
        self.text_in(document, field, field)
    }

    fn text_in<'d>(&mut self, object: &'d Fields<'d>, field: &str, path: &str) -> Option<&'d str> {
        match object.get(field) {
            None | Some(Json::Null) => None,
            Some(Json::Text(text)) if text.trim().is_empty() => None,
            // PostgreSQL's text refuses it: the offer would fail at writing,
            // its whole batch with it.
            Some(Json::Text(text)) if text.contains('\0') => {
                self.errors.push(error(
                    path,
                    "caractère nul (\\u0000) interdit dans un texte",
                ));
                None
            }
            Some(Json::Text(text)) => Some(text),
            Some(_) => {
                self.errors.push(error(path, "texte attendu"));
                None
            }
        }
    }

    fn required_text(&mut self, field: &str) -> Option<&'a str> {
        let present = self.document.get(field).is_some_and(|v| !v.is_null());
        let text = self.text(field);
        if text.is_none() && !self.errors.iter().any(|e| e.champ == field) {
            let message = if present {
                "ne doit pas être vide"
            } else {
                "champ obligatoire"
            };
            self.errors.push(error(field, message));
        }
        text
    }

    fn object(&mut self, field: &str) -> Option<&'a Fields<'a>> {
        let document = self.document;
        match document.get(field) {
            None | Some(Json::Null) => None,
            Some(Json::Object(object)) => Some(object),
            Some(_) => {
                self.errors.push(error(field, "objet attendu"));
                None
            }
        }
    }

    fn boolean(&mut self, field: &str) -> Option<bool> {
        match self.document.get(field) {
            None | Some(Json::Null) => None,
            Some(Json::Bool(b)) => Some(*b),
            Some(_) => {
                self.errors
                    .push(error(field, "vrai ou faux (true/false) attendu"));
                None
            }
        }
    }

    /// Our flags, already defaulted by `Offer::parse`.
    fn flag(&self, field: &str) -> bool {
        matches!(self.document.get(field), Some(Json::Bool(true)))
    }

    fn integer(&mut self, field: &str) {
        match self.document.get(field) {
            None | Some(Json::Null) => {}
            Some(Json::Number(n)) if n.as_u64().is_some() => {}
            Some(_) => self
                .errors
                .push(error(field, "nombre entier positif attendu")),
        }
    }

    fn date(&mut self, field: &str, required: bool) -> Option<NaiveDateTime> {
        match self.document.get(field) {
            None | Some(Json::Null) => {
                if required {
                    self.errors.push(error(field, "champ obligatoire"));
                }
                None
            }
            Some(Json::Text(raw)) => parse_date(raw).or_else(|| {
                self.errors.push(error(
                    field,
                    "date attendue au format 2024-03-15T10:20:30Z (millisecondes facultatives)",
                ));
                None
            }),
            Some(_) => {
                self.errors.push(error(field, "date attendue (texte)"));
                None
            }
        }
    }

    fn qualification(&mut self) -> Option<u8> {
        let code = match self.document.get("qualificationCode") {
            None | Some(Json::Null) => return None,
            Some(Json::Text(code)) => code.parse::<u8>().ok(),
            Some(Json::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
            Some(_) => None,
        };
        match code {
            Some(9) => Some(9),
            Some(1..=8) => Some(0),
            _ => {
                self.errors
                    .push(error("qualificationCode", "code de 1 à 9 attendu"));
                None
            }
        }
    }

    fn skills(&mut self) -> Vec<String> {
        match self.document.get("competences") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::List(skills)) => skills
                .iter()
                .filter_map(|skill| skill.get("libelle").and_then(Json::as_str))
                .map(str::to_owned)
                .collect(),
            Some(_) => {
                self.errors.push(error("competences", "liste attendue"));
                Vec::new()
            }
        }
    }

    /// (commune, postal code, label, point) of `lieuTravail`.
    #[allow(clippy::type_complexity)]
    fn place<'d>(
        &mut self,
        place: &'d Fields<'d>,
    ) -> (
        Option<&'d str>,
        Option<&'d str>,
        Option<&'d str>,
        Option<(f64, f64)>,
    ) {
        let commune = self.text_in(place, "commune", "lieuTravail.commune");
        let postal_code = self.text_in(place, "codePostal", "lieuTravail.codePostal");
        let label = self.text_in(place, "libelle", "lieuTravail.libelle");
        if let Some(code) = commune
            && !is_insee_code(code)
        {
            self.errors.push(error(
                "lieuTravail.commune",
                "code INSEE attendu (cinq caractères, ex. 13001)",
            ));
        }
        if let Some(code) = postal_code
            && !(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()))
        {
            self.errors.push(error(
                "lieuTravail.codePostal",
                "code postal attendu (cinq chiffres)",
            ));
        }
        let latitude = self.coordinate(place, "latitude", 90.0);
        let longitude = self.coordinate(place, "longitude", 180.0);
        let point = match (latitude, longitude) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            (None, None) => None,
            _ => {
                self.errors.push(error(
                    "lieuTravail",
                    "latitude et longitude vont ensemble : les deux ou aucune",
                ));
                None
            }
        };
        (commune, postal_code, label, point)
    }

    fn coordinate(&mut self, place: &Fields, field: &str, bound: f64) -> Option<f64> {
        let path = format!("lieuTravail.{field}");
        match place.get(field) {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => match n.as_f64() {
                Some(v) if v.abs() <= bound => Some(v),
                _ => {
                    self.errors.push(error(
                        &path,
                        &format!("nombre entre -{bound} et {bound} attendu"),
                    ));
                    None
                }
            },
            Some(_) => {
                self.errors.push(error(&path, "nombre attendu"));
                None
            }
        }
    }
}

/// France Travail dates, with or without milliseconds, with `Z` or an offset.
/// The text at a path of an offer document, e.g. `["entreprise", "nom"]`.
pub fn text_at<'a>(document: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(document.get(*first)?, |value, key| value.get(key))
        .and_then(Value::as_str)
}

pub fn parse_date(raw: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|d| d.with_timezone(&Utc).naive_utc())
        .or_else(|| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok())
}

fn is_rome_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 5 && bytes[0].is_ascii_uppercase() && bytes[1..].iter().all(u8::is_ascii_digit)
}

fn is_insee_code(code: &str) -> bool {
    code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'A' || b == b'B')
}

/// "13 - Aix-en-Provence" → "13".
fn department_from_label(label: &str) -> Option<String> {
    let (prefix, _) = label.split_once(" - ")?;
    let prefix = prefix.trim();
    let valid =
        (2..=3).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| prefix.to_owned())
}

fn department_from_postal_code(code: &str) -> Option<String> {
    let digits = if code.starts_with("97") { 3 } else { 2 };
    code.get(..digits).map(str::to_owned)
}

/// A nature code from the code itself or from its France Travail label.
fn nature_code(raw: &str) -> String {
    CONTRACT_NATURES
        .iter()
        .find(|n| n.code == raw || n.label.eq_ignore_ascii_case(raw))
        .map_or_else(|| raw.to_owned(), |n| n.code.to_owned())
}

/// France Travail's experience classes, from `experienceExige` and a label
/// such as "Expérience exigée de 2 An(s)" or "6 Mois".
pub fn experience_class(required: Option<&str>, label: Option<&str>) -> u8 {
    let lower = label.map(str::to_lowercase);
    if required == Some("D") || lower.as_ref().is_some_and(|l| l.contains("débutant")) {
        return 1;
    }
    let Some(lower) = lower else { return 0 };
    let Some(amount) = lower
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| !part.is_empty())
        .and_then(|digits| digits.parse::<u32>().ok())
    else {
        return 0;
    };
    let months = if lower.contains("an") {
        amount * 12
    } else if lower.contains("mois") {
        amount
    } else {
        return 0;
    };
    match months {
        0..=11 => 1,
        12..=36 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agencies() -> HashSet<String> {
        HashSet::from(["13013".to_owned()])
    }

    #[test]
    fn a_minimal_offer_gets_our_defaults() {
        let offer = Offer::parse(
            json!({"id": "123ABC", "intitule": "Électricien (H/F)", "dateCreation": "2026-11-01T08:00:00.000Z", "codeAgence": "13013"}),
            &agencies(),
        )
        .expect("valid");
        assert_eq!(offer.document["publiee"], json!(true));
        assert_eq!(offer.document["avecPreselection"], json!(false));
        assert_eq!(offer.facts.experience, 0);
        assert_eq!(offer.facts.updated_at, offer.facts.created_at);
    }

    #[test]
    fn each_bad_field_is_named() {
        let errors = Offer::parse(
            json!({"id": "x y", "intitule": 3, "dateCreation": "hier", "codeAgence": "99999",
                   "lieuTravail": {"latitude": 120.0, "longitude": 5.0}, "publiee": "oui"}),
            &agencies(),
        )
        .unwrap_err();
        let fields: HashSet<&str> = errors.iter().map(|e| e.champ.as_str()).collect();
        for field in [
            "id",
            "intitule",
            "dateCreation",
            "lieuTravail.latitude",
            "publiee",
        ] {
            assert!(fields.contains(field), "{field} not named in {errors:?}");
        }
    }

    #[test]
    fn experience_classes_follow_france_travail() {
        assert_eq!(experience_class(Some("D"), Some("Débutant accepté")), 1);
        assert_eq!(experience_class(Some("E"), Some("6 Mois")), 1);
        assert_eq!(
            experience_class(Some("E"), Some("Expérience exigée de 2 An(s)")),
            2
        );
        assert_eq!(
            experience_class(Some("S"), Some("Expérience souhaitée de 3 An(s)")),
            2
        );
        assert_eq!(
            experience_class(Some("E"), Some("Expérience exigée de 5 An(s)")),
            3
        );
        assert_eq!(experience_class(Some("E"), Some("18 Mois")), 2);
        assert_eq!(experience_class(None, None), 0);
    }

    #[test]
    fn dates_with_and_without_milliseconds() {
        assert!(parse_date("2026-11-01T08:00:00Z").is_some());
        assert!(parse_date("2026-11-01T08:00:00.123Z").is_some());
        assert!(parse_date("2026-11-01T08:00:00+01:00").is_some());
        assert!(parse_date("2026-11-01").is_none());
    }
}
