//! The search parameters of France Travail's `offres/search`, plus ours,
//! checked one by one: an invalid value is refused with a French message
//! naming the parameter, never replaced by a default.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime};

use super::schema::{WORD_BYTES_LIMIT, keyword};
use crate::referentials::{self, CONTRACT_NATURES, CONTRACT_TYPES};
use crate::text;

pub const MAX_PAGE: usize = 150;
pub const MAX_START: usize = 3000;
pub const MAX_KEYWORDS: usize = 7;
pub const MAX_PHRASE_WORDS: usize = 10;
pub const MAX_PLACES: usize = 5;
pub const MAX_LIST: usize = 50;
const DEFAULT_DISTANCE_KM: u32 = 10;
pub const MAX_DISTANCE_KM: u32 = 1000;

/// A filter on a keyword field; facet filters are the ones a facet ignores.
#[derive(Debug, Clone, Copy)]
pub struct Dimension {
    pub param: &'static str,
    pub field: &'static str,
    /// Position in the facet list of the response, for faceted dimensions.
    pub facet: Option<usize>,
}

impl Dimension {
    /// Whether the parameter takes a list of values (« CDI,CDD »); the
    /// others take one (see `parse_dimension`).
    pub fn takes_a_list(&self) -> bool {
        LISTED_DIMENSIONS.contains(&self.param)
    }
}

const LISTED_DIMENSIONS: [&str; 6] = [
    "typeContrat",
    "natureContrat",
    "codeROME",
    "secteurActivite",
    "codeAgence",
    "departement",
];

/// Facets of the response, in order.
pub const FACETS: [Dimension; 8] = [
    Dimension {
        param: "typeContrat",
        field: keyword::CONTRACT_TYPE,
        facet: Some(0),
    },
    Dimension {
        param: "natureContrat",
        field: keyword::CONTRACT_NATURE,
        facet: Some(1),
    },
    Dimension {
        param: "experience",
        field: keyword::EXPERIENCE,
        facet: Some(2),
    },
    Dimension {
        param: "qualification",
        field: keyword::QUALIFICATION,
        facet: Some(3),
    },
    Dimension {
        param: "codeAgence",
        field: keyword::AGENCY,
        facet: Some(4),
    },
    Dimension {
        param: "departement",
        field: keyword::DEPARTMENT,
        facet: Some(5),
    },
    Dimension {
        param: "avecPreselection",
        field: keyword::PRESELECTION,
        facet: Some(6),
    },
    Dimension {
        param: "contratAide",
        field: keyword::AIDED,
        facet: Some(7),
    },
];

const OTHER_DIMENSIONS: [Dimension; 6] = [
    Dimension {
        param: "codeROME",
        field: keyword::ROME,
        facet: None,
    },
    Dimension {
        param: "secteurActivite",
        field: keyword::SECTOR,
        facet: None,
    },
    Dimension {
        param: "tempsPlein",
        field: keyword::FULL_TIME,
        facet: None,
    },
    Dimension {
        param: "accesTravailleurHandicape",
        field: keyword::ACCESSIBLE_TH,
        facet: None,
    },
    Dimension {
        param: "iae",
        field: keyword::IAE,
        facet: None,
    },
    Dimension {
        param: "publiee",
        field: keyword::PUBLISHED,
        facet: None,
    },
];

const OTHER_PARAMETERS: [&str; 8] = [
    "motsCles",
    "commune",
    "distance",
    "publieeDepuis",
    "minCreationDate",
    "maxCreationDate",
    "sort",
    "range",
];

/// Every parameter a search accepts; any other is refused.
pub fn accepted_parameters() -> impl Iterator<Item = &'static str> {
    FACETS
        .iter()
        .chain(OTHER_DIMENSIONS.iter())
        .map(|dimension| dimension.param)
        .chain(OTHER_PARAMETERS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    Newest,
    Nearest,
}

/// One of the `motsCles`: a word, or words in double quotes that must
/// follow each other in the offer ("chef de cuisine").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyword {
    Word(String),
    Phrase(String),
}

impl Keyword {
    pub fn text(&self) -> &str {
        match self {
            Keyword::Word(text) | Keyword::Phrase(text) => text,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub keywords: Vec<Keyword>,
    /// Keyword-field filters: accepted values per dimension.
    pub filters: Vec<(Dimension, Vec<String>)>,
    /// Points of the chosen communes: distances are measured from the nearest.
    pub origins: Vec<(f64, f64)>,
    /// Offers must lie within this distance of an origin (`None`: anywhere,
    /// or the communes themselves when distance is 0).
    pub radius_km: Option<f64>,
    /// Creation time bounds, in seconds since the epoch, inclusive.
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub sort: Sort,
    /// First and last positions asked for, inclusive.
    pub start: usize,
    pub end: usize,
}

/// A refused parameter. The API's message names the parameter; a search
/// page names its own field instead, and keeps the problem (see
/// `web::offers`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.api_message())]
pub struct ParamError {
    pub param: String,
    pub problem: ParamProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamProblem {
    Unknown,
    Repeated,
    Incorrect {
        /// What is wrong, in words that hold without the parameter's name.
        detail: String,
        /// Where the API lists the values it accepts.
        listed_at: Option<&'static str>,
    },
}

impl ParamError {
    /// The same refusal, pointing to where the API lists the values.
    fn listed_at(mut self, path: Option<&'static str>) -> ParamError {
        if let ParamProblem::Incorrect { listed_at, .. } = &mut self.problem {
            *listed_at = path;
        }
        self
    }

    fn api_message(&self) -> String {
        let param = &self.param;
        match &self.problem {
            ParamProblem::Unknown => format!("Paramètre « {param} » inconnu."),
            ParamProblem::Repeated => format!(
                "Paramètre « {param} » répété : donnez une seule fois ses valeurs, séparées par des virgules."
            ),
            ParamProblem::Incorrect { detail, listed_at } => {
                let mut message = format!("Valeur du paramètre « {param} » incorrecte : {detail}");
                if let Some(path) = listed_at {
                    message.push_str(&format!(" Voir {path}."));
                }
                message
            }
        }
    }
}

fn incorrect(param: &str, detail: &str) -> ParamError {
    ParamError {
        param: param.to_owned(),
        problem: ParamProblem::Incorrect {
            detail: detail.to_owned(),
            listed_at: None,
        },
    }
}

/// Keywords whose words are all too common to be looked for (« le ») or
/// are not words (« C++ »): found by the index's analyzer.
pub fn nothing_to_search() -> ParamError {
    incorrect(
        "motsCles",
        "aucun mot à chercher (les mots très courants, comme le, de ou pour, et \
         les signes seuls sont ignorés) ; ajoutez un mot du métier ou de l'offre.",
    )
}

/// What the checks need to know beyond the referentials.
pub struct Context<'a> {
    pub agencies: &'a HashSet<String>,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Whether some indexed offer has this value in this keyword field.
    /// Offers may carry codes newer than relais's copy of the
    /// referentials; facets show them, so filters take them.
    pub indexed: &'a dyn Fn(&str, &str) -> bool,
}

impl SearchRequest {
    /// Whether some matching offers may fail the request's filters.
    pub fn filters_offers(&self) -> bool {
        !self.filters.is_empty() || self.bounds_place_or_date()
    }

    /// Whether the request is keywords ranked by relevance and nothing
    /// else: no filter, no other order.
    pub fn ranked_by_keywords_alone(&self) -> bool {
        !self.keywords.is_empty() && self.sort == Sort::Relevance && !self.filters_offers()
    }

    /// Whether an offer passing or not depends on its facet values alone:
    /// every filter is on a facet (no other dimension, place or date).
    pub fn filters_on_facets_alone(&self) -> bool {
        self.filters
            .iter()
            .all(|(dimension, _)| dimension.facet.is_some())
            && self.origins.is_empty()
            && !self.bounds_place_or_date()
    }

    /// Whether offers must lie within a distance or between dates: the
    /// filters beyond the keyword dimensions, listed once for both above.
    fn bounds_place_or_date(&self) -> bool {
        self.radius_km.is_some() || self.created_from.is_some() || self.created_to.is_some()
    }

    pub fn parse(
        pairs: &[(String, String)],
        context: &Context,
    ) -> Result<SearchRequest, ParamError> {
        let mut params: HashMap<&str, &str> = HashMap::new();
        for (name, value) in pairs {
            if !accepted_parameters().any(|known| known == name) {
                return Err(ParamError {
                    param: name.clone(),
                    problem: ParamProblem::Unknown,
                });
            }
            if params.insert(name, value).is_some() {
                return Err(ParamError {
                    param: name.clone(),
                    problem: ParamProblem::Repeated,
                });
            }
        }

        let keywords = match params.get("motsCles") {
            Some(raw) => parse_keywords(raw)?,
            None => Vec::new(),
        };
        let mut filters = Vec::new();
        for dimension in FACETS.iter().chain(OTHER_DIMENSIONS.iter()) {
            if let Some(raw) = params.get(dimension.param) {
                filters.push((*dimension, parse_dimension(dimension, raw, context)?));
            }
        }
        let communes = match params.get("commune") {
            Some(raw) => parse_communes(raw)?,
            None => Vec::new(),
        };
        let distance = match params.get("distance") {
            Some(_) if communes.is_empty() => {
                return Err(incorrect(
                    "distance",
                    "il s'applique autour d'une « commune », qui manque.",
                ));
            }
            Some(raw) => match text::digits::<u32>(raw) {
                Some(km) if km <= MAX_DISTANCE_KM => km,
                _ => {
                    return Err(incorrect(
                        "distance",
                        &format!(
                            "un nombre entier de kilomètres de 0 à {MAX_DISTANCE_KM} est attendu."
                        ),
                    ));
                }
            },
            None => DEFAULT_DISTANCE_KM,
        };
        let origins: Vec<(f64, f64)> = communes.iter().map(|c| (c.latitude, c.longitude)).collect();
        let radius_km = if communes.is_empty() {
            None
        } else if distance == 0 {
            // That commune only (with its arrondissements, for Paris, Lyon, Marseille).
            let mut codes: Vec<String> = communes.iter().map(|c| c.code.clone()).collect();
            codes.extend(
                referentials::get()
                    .communes
                    .iter()
                    .filter(|c| {
                        referentials::city_of_arrondissement(&c.code)
                            .is_some_and(|city| communes.iter().any(|chosen| chosen.code == city))
                    })
                    .map(|c| c.code.clone()),
            );
            filters.push((
                Dimension {
                    param: "commune",
                    field: keyword::COMMUNE,
                    facet: None,
                },
                codes,
            ));
            None
        } else {
            Some(f64::from(distance))
        };

        let (mut created_from, mut created_to) = (None, None);
        if let Some(raw) = params.get("publieeDepuis") {
            let days: i64 = match *raw {
                "1" | "3" | "7" | "14" | "31" => raw.parse().unwrap_or(1),
                _ => {
                    return Err(incorrect(
                        "publieeDepuis",
                        "1, 3, 7, 14 ou 31 (jours) est attendu.",
                    ));
                }
            };
            created_from = Some(context.now - days * 86_400);
        }
        match (params.get("minCreationDate"), params.get("maxCreationDate")) {
            (None, None) => {}
            (Some(min), Some(max)) => {
                let min = parse_bound("minCreationDate", min)?;
                let max = parse_bound("maxCreationDate", max)?;
                if min > max {
                    return Err(incorrect(
                        "minCreationDate",
                        "elle doit précéder « maxCreationDate ».",
                    ));
                }
                created_from = Some(created_from.map_or(min, |from| from.max(min)));
                created_to = Some(max);
            }
            (Some(_), None) => {
                return Err(incorrect(
                    "maxCreationDate",
                    "il accompagne « minCreationDate » et manque.",
                ));
            }
            (None, Some(_)) => {
                return Err(incorrect(
                    "minCreationDate",
                    "il accompagne « maxCreationDate » et manque.",
                ));
            }
        }

        let sort = match params.get("sort").copied() {
            None => Sort::Relevance,
            Some("0") => Sort::Relevance,
            Some("1") => Sort::Newest,
            Some("2") if communes.is_empty() => {
                return Err(incorrect(
                    "sort",
                    "le tri par distance demande une « commune ».",
                ));
            }
            Some("2") => Sort::Nearest,
            Some(_) => {
                return Err(incorrect(
                    "sort",
                    "0 (pertinence), 1 (date) ou 2 (distance) est attendu.",
                ));
            }
        };
        let (start, end) = match params.get("range") {
            Some(raw) => parse_range(raw)?,
            None => (0, MAX_PAGE - 1),
        };
        Ok(SearchRequest {
            keywords,
            filters,
            origins,
            radius_km,
            created_from,
            created_to,
            sort,
            start,
            end,
        })
    }
}

fn parse_keywords(raw: &str) -> Result<Vec<Keyword>, ParamError> {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    // Quotes alternate outside / inside: an even number of parts means one
    // was opened and never closed.
    let parts: Vec<&str> = raw.split('"').collect();
    if parts.len().is_multiple_of(2) {
        return Err(incorrect(
            "motsCles",
            "un guillemet ouvre une expression sans la fermer.",
        ));
    }
    let mut keywords = Vec::new();
    for (position, part) in parts.iter().enumerate() {
        if position.is_multiple_of(2) {
            keywords.extend(words(part).into_iter().map(Keyword::Word));
            continue;
        }
        let phrase = words(part);
        if phrase.is_empty() {
            return Err(incorrect(
                "motsCles",
                "une expression entre guillemets est vide.",
            ));
        }
        if phrase.len() > MAX_PHRASE_WORDS {
            return Err(incorrect(
                "motsCles",
                &format!("une expression entre guillemets compte {MAX_PHRASE_WORDS} mots au plus."),
            ));
        }
        keywords.push(Keyword::Phrase(phrase.join(" ")));
    }
    if keywords.is_empty() {
        return Err(incorrect("motsCles", "au moins un mot-clé est attendu."));
    }
    if keywords.len() > MAX_KEYWORDS {
        return Err(incorrect(
            "motsCles",
            &format!("{MAX_KEYWORDS} mots-clés ou expressions au plus."),
        ));
    }
    // Searched for, a word the index cannot hold would be dropped, and the
    // search would find every offer.
    let too_long = keywords.iter().find_map(|k| {
        k.text()
            .split(|c: char| !c.is_alphanumeric())
            .find(|word| word.len() >= WORD_BYTES_LIMIT)
    });
    if let Some(word) = too_long {
        let start: String = word.chars().take(20).collect();
        return Err(incorrect(
            "motsCles",
            &format!(
                "un mot compte moins de {WORD_BYTES_LIMIT} lettres (« {start}… » est trop long)."
            ),
        ));
    }
    if let Some(short) = keywords.iter().find(|k| k.text().chars().count() < 2) {
        return Err(incorrect(
            "motsCles",
            &format!(
                "chaque mot-clé compte au moins 2 caractères (« {} »).",
                short.text()
            ),
        ));
    }
    Ok(keywords)
}

fn list(param: &str, raw: &str, max: usize) -> Result<Vec<String>, ParamError> {
    let values: Vec<String> = raw.split(',').map(|v| v.trim().to_owned()).collect();
    if values.iter().any(String::is_empty) {
        return Err(incorrect(param, "une valeur est vide."));
    }
    if values.len() > max {
        return Err(incorrect(param, &format!("{max} valeurs au plus.")));
    }
    Ok(values)
}

fn parse_dimension(
    dimension: &Dimension,
    raw: &str,
    context: &Context,
) -> Result<Vec<String>, ParamError> {
    let param = dimension.param;
    let referentials = referentials::get();
    let held = |value: &str| (context.indexed)(dimension.field, value);
    // A list. `expected` says, for a value refused, what one looks like;
    // the API also points to where it lists them all.
    let check = |values: Vec<String>,
                 valid: &dyn Fn(&str) -> bool,
                 expected: &dyn Fn(&str) -> Option<&'static str>,
                 listed_at: Option<&'static str>| {
        match values.iter().find(|v| !valid(v)) {
            Some(bad) => {
                let detail = match expected(bad) {
                    Some(expected) => format!("« {bad} » inconnu ; {expected}"),
                    None => format!("« {bad} » inconnu."),
                };
                Err(incorrect(param, &detail).listed_at(listed_at))
            }
            None => Ok(values),
        }
    };
    let single = |expected: &[&str], detail: &str| {
        if expected.contains(&raw) {
            Ok(vec![raw.to_owned()])
        } else {
            Err(incorrect(param, detail))
        }
    };
    match param {
        "typeContrat" => check(
            list(param, raw, MAX_LIST)?,
            &|v| CONTRACT_TYPES.iter().any(|t| t.code == v) || held(v),
            &|_| None,
            Some("/api/v1/referentiel/typesContrats"),
        ),
        "natureContrat" => check(
            list(param, raw, MAX_LIST)?,
            &|v| CONTRACT_NATURES.iter().any(|n| n.code == v) || held(v),
            &|_| None,
            Some("/api/v1/referentiel/naturesContrats"),
        ),
        "codeROME" => check(
            list(param, raw, MAX_LIST)?,
            &|v| referentials.job(v).is_some() || held(v),
            &rome_hint,
            Some("/api/v1/referentiel/metiers"),
        ),
        "secteurActivite" => check(
            list(param, raw, MAX_LIST)?,
            &|v| referentials.sectors.iter().any(|s| s.code == v) || held(v),
            &|_| None,
            Some("/api/v1/referentiel/secteursActivites"),
        ),
        "codeAgence" => check(
            list(param, raw, MAX_LIST)?,
            &|v| context.agencies.contains(v),
            &|_| Some("code SAFIR d'une agence du territoire attendu."),
            None,
        ),
        "departement" => check(
            list(param, raw, MAX_PLACES)?,
            &|v| referentials.department(v).is_some(),
            &|_| Some("numéro de département attendu (ex. 13, 2A, 974)."),
            Some("/api/v1/referentiel/departements"),
        ),
        "experience" => single(&["0", "1", "2", "3"], "0, 1, 2 ou 3 est attendu."),
        "qualification" => single(&["0", "9"], "0 (non-cadre) ou 9 (cadre) est attendu."),
        _ => single(&["true", "false"], "true ou false est attendu."),
    }
}

/// What a ROME code looks like, or that none has that one: coaches type
/// them by hand in the search page.
fn rome_hint(refused: &str) -> Option<&'static str> {
    let shaped = referentials::shaped_like_rome_code(refused)
        && refused.starts_with(|c: char| c.is_ascii_uppercase());
    Some(if shaped {
        "aucun métier du répertoire ROME n'a ce code."
    } else {
        "un code ROME s'écrit d'une lettre majuscule et de quatre chiffres, par exemple J1501."
    })
}

fn parse_communes(raw: &str) -> Result<Vec<&'static referentials::Commune>, ParamError> {
    list("commune", raw, MAX_PLACES)?
        .iter()
        .map(|code| {
            referentials::get()
                .commune(code)
                .ok_or_else(|| incorrect("commune", &format!("code INSEE « {code} » inconnu.")))
        })
        .collect()
}

/// "2024-03-15T10:20:30Z", as France Travail writes it.
fn parse_bound(param: &str, raw: &str) -> Result<i64, ParamError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.timestamp())
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").map(|d| d.and_utc().timestamp())
        })
        .map_err(|_| incorrect(param, "date au format 2024-03-15T10:20:30Z attendue."))
}

fn parse_range(raw: &str) -> Result<(usize, usize), ParamError> {
    let bounds = raw
        .split_once('-')
        .and_then(|(p, d)| Some((text::digits::<usize>(p)?, text::digits::<usize>(d)?)));
    let Some((start, end)) = bounds else {
        return Err(incorrect(
            "range",
            "« début-fin » attendu, par exemple 0-149.",
        ));
    };
    if start > end {
        return Err(incorrect(
            "range",
            "le début doit être inférieur ou égal à la fin.",
        ));
    }
    if start > MAX_START {
        return Err(incorrect(
            "range",
            &format!("la position de début ne dépasse pas {MAX_START}."),
        ));
    }
    if end - start >= MAX_PAGE {
        return Err(incorrect(
            "range",
            &format!("{MAX_PAGE} offres par page au plus."),
        ));
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `takes_a_list` says what `parse_dimension` reads, and so what the
    /// search page offers: boxes to tick, or one choice.
    #[test]
    fn every_dimension_is_read_as_it_says() {
        let agencies = HashSet::new();
        let context = Context {
            agencies: &agencies,
            now: 0,
            indexed: &|_, _| false,
        };
        for dimension in FACETS.iter().chain(OTHER_DIMENSIONS.iter()) {
            // A list checks each value, the first refused by name; one
            // value refuses the two together.
            let error = parse_dimension(dimension, "x,y", &context).unwrap_err();
            let ParamProblem::Incorrect { detail, .. } = error.problem else {
                panic!("{}: {:?}", dimension.param, error.problem);
            };
            let param = dimension.param;
            assert_eq!(
                detail.starts_with("« x »"),
                dimension.takes_a_list(),
                "{param}: {detail}"
            );
        }
    }

    #[test]
    fn quotes_make_a_phrase_among_words() {
        assert_eq!(
            parse_keywords(r#"cuisine, "chef  de partie" nuit"#),
            Ok(vec![
                Keyword::Word("cuisine".into()),
                Keyword::Phrase("chef de partie".into()),
                Keyword::Word("nuit".into()),
            ])
        );
    }

    #[test]
    fn an_unclosed_or_empty_phrase_is_refused() {
        for raw in [r#""chef de"#, r#"cuisine "" nuit"#, r#"" , ""#] {
            let error = parse_keywords(raw).expect_err(raw);
            assert_eq!(error.param, "motsCles", "{raw}");
        }
    }

    #[test]
    fn a_phrase_counts_as_one_keyword_but_has_a_length_limit() {
        let seven = r#""a b c d" deux trois quatre cinq six sept"#;
        assert_eq!(parse_keywords(seven).map(|k| k.len()), Ok(7));
        assert!(
            parse_keywords(r#""un deux trois quatre cinq six sept huit neuf dix onze""#).is_err()
        );
    }

    /// The index holds no word that long: dropped, it would find everything.
    #[test]
    fn a_word_too_long_for_the_index_is_refused() {
        let longest = "x".repeat(39);
        assert!(parse_keywords(&format!("cariste {longest}")).is_ok());
        let error = parse_keywords(&format!("cariste {longest}x")).unwrap_err();
        assert!(error.to_string().contains("trop long"), "{error}");
        assert!(parse_keywords(&format!("\"chef {}\"", "é".repeat(20))).is_err());
    }
}
