//! The queries every system answers: fixed, seeded lists drawn from the
//! corpus's own vocabulary and values, written as the search API's
//! parameters so that relais parses them exactly as it would over HTTP.

use std::collections::HashMap;

use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::offers::model::OfferFacts;

/// The classes of the report, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryClass {
    CommonKeyword,
    ThreeKeywords,
    Phrase,
    KeywordsAndFilters,
    FiltersOnly,
    NearbyByDistance,
    Newest,
    DeepPage,
}

impl QueryClass {
    pub const ALL: [QueryClass; 8] = [
        QueryClass::CommonKeyword,
        QueryClass::ThreeKeywords,
        QueryClass::Phrase,
        QueryClass::KeywordsAndFilters,
        QueryClass::FiltersOnly,
        QueryClass::NearbyByDistance,
        QueryClass::Newest,
        QueryClass::DeepPage,
    ];

    pub fn label(self) -> &'static str {
        match self {
            QueryClass::CommonKeyword => "one common keyword",
            QueryClass::ThreeKeywords => "three keywords",
            QueryClass::Phrase => "a phrase from a title",
            QueryClass::KeywordsAndFilters => "keywords + two filters",
            QueryClass::FiltersOnly => "filters only, all facets",
            QueryClass::NearbyByDistance => "keyword + 30 km, by distance",
            QueryClass::Newest => "keyword, newest first",
            QueryClass::DeepPage => "keyword, deep page (2850-2999)",
        }
    }

    /// Whether the class has keywords: analyzers differ between systems, so
    /// only classes without keywords must agree exactly.
    pub fn has_keywords(self) -> bool {
        self != QueryClass::FiltersOnly
    }

    /// Whether the class is keywords ranked by relevance and nothing else,
    /// as tantivy's own collectors answer (`query::engine_alone`).
    pub fn ranked_by_keywords_alone(self) -> bool {
        matches!(
            self,
            QueryClass::CommonKeyword
                | QueryClass::ThreeKeywords
                | QueryClass::Phrase
                | QueryClass::DeepPage
        )
    }
}

/// One query: the class and the API parameters.
#[derive(Debug, Clone)]
pub struct BenchQuery {
    pub class: QueryClass,
    pub params: Vec<(String, String)>,
}

/// Words of a title worth searching: letters only, four or more of them.
fn title_words(title: &str) -> Vec<String> {
    title
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .collect()
}

/// The words that start most titles' vocabulary, by document frequency.
fn common_words(corpus: &[OfferFacts], how_many: usize) -> Vec<String> {
    let mut frequency: HashMap<String, usize> = HashMap::new();
    for facts in corpus {
        let mut words = title_words(&facts.title);
        words.sort();
        words.dedup();
        for word in words {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let mut words: Vec<(String, usize)> = frequency.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.into_iter().take(how_many).map(|(w, _)| w).collect()
}

/// Two or three consecutive words of the job in a title, stop words
/// included ("agent de service", "chef de"), as a person quotes them.
fn title_phrase(title: &str, rng: &mut ChaCha8Rng) -> Option<String> {
    let words: Vec<&str> = title
        .split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_alphabetic() || c == '\''))
        .collect();
    if words.len() < 2 {
        return None;
    }
    let len = words.len().min(3);
    let start = rng.random_range(0..=words.len() - len);
    Some(words[start..start + len].join(" "))
}

/// The first value given by an offer, from a random one on (wrapping round).
fn from_any_offer<T>(
    corpus: &[OfferFacts],
    rng: &mut ChaCha8Rng,
    mut value: impl FnMut(&OfferFacts, &mut ChaCha8Rng) -> Option<T>,
) -> Option<T> {
    let start = rng.random_range(0..corpus.len());
    corpus[start..]
        .iter()
        .chain(&corpus[..start])
        .find_map(|offer| value(offer, rng))
}

fn pair(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

const FIRST_PAGE: &str = "0-19";
const AIX_EN_PROVENCE: &str = "13001";

/// `per_class` queries of every class, the same for the same corpus and seed.
pub fn build(corpus: &[OfferFacts], per_class: usize, seed: u64) -> Vec<BenchQuery> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let common = common_words(corpus, 20);
    let mut queries = Vec::with_capacity(per_class * QueryClass::ALL.len());
    if corpus.is_empty() || common.is_empty() {
        return queries;
    }
    for class in QueryClass::ALL {
        for _ in 0..per_class {
            let offer = &corpus[rng.random_range(0..corpus.len())];
            let keyword = common.choose(&mut rng).cloned().unwrap_or_default();
            let params = match class {
                QueryClass::CommonKeyword => {
                    vec![pair("motsCles", keyword), pair("range", FIRST_PAGE)]
                }
                QueryClass::ThreeKeywords => {
                    let mut words = title_words(&offer.title);
                    words.dedup();
                    while words.len() < 3 {
                        words.push(common.choose(&mut rng).cloned().unwrap_or_default());
                    }
                    let start = rng.random_range(0..=words.len() - 3);
                    vec![
                        pair("motsCles", words[start..start + 3].join(",")),
                        pair("range", FIRST_PAGE),
                    ]
                }
                QueryClass::Phrase => {
                    let phrase =
                        from_any_offer(corpus, &mut rng, |o, rng| title_phrase(&o.title, rng))
                            .unwrap_or_else(|| keyword.clone());
                    vec![
                        pair("motsCles", format!("\"{phrase}\"")),
                        pair("range", FIRST_PAGE),
                    ]
                }
                QueryClass::KeywordsAndFilters => {
                    let word = title_words(&offer.title)
                        .choose(&mut rng)
                        .cloned()
                        .unwrap_or(keyword);
                    let mut params = vec![pair("motsCles", word), pair("range", FIRST_PAGE)];
                    if let Some(contract) = &offer.contract_type {
                        params.push(pair("typeContrat", contract.clone()));
                    }
                    if let Some(department) = &offer.department {
                        params.push(pair("departement", department.clone()));
                    }
                    params
                }
                QueryClass::FiltersOnly => {
                    // The API knows 1, 2 and 3; "not stated" cannot be asked for.
                    let experience = offer.experience.clamp(1, 3);
                    let mut params = vec![
                        pair("experience", experience.to_string()),
                        pair("range", FIRST_PAGE),
                    ];
                    if let Some(contract) = &offer.contract_type {
                        params.push(pair("typeContrat", contract.clone()));
                    }
                    if rng.random_bool(0.5) {
                        params.push(pair(
                            "avecPreselection",
                            offer.with_preselection.to_string(),
                        ));
                    }
                    params
                }
                QueryClass::NearbyByDistance => {
                    let commune = from_any_offer(corpus, &mut rng, |o, _| o.commune.clone())
                        .unwrap_or_else(|| AIX_EN_PROVENCE.to_owned());
                    vec![
                        pair("motsCles", keyword),
                        pair("commune", commune),
                        pair("distance", "30"),
                        pair("sort", "2"),
                        pair("range", FIRST_PAGE),
                    ]
                }
                QueryClass::Newest => vec![
                    pair("motsCles", keyword),
                    pair("sort", "1"),
                    pair("range", FIRST_PAGE),
                ],
                QueryClass::DeepPage => {
                    vec![pair("motsCles", keyword), pair("range", "2850-2999")]
                }
            };
            queries.push(BenchQuery { class, params });
        }
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classes_ranked_by_keywords_alone_are_those_whose_requests_are() {
        let agencies = crate::agencies::reference_codes();
        let anchor = crate::demo::anchor();
        let corpus: Vec<OfferFacts> = crate::offers::demo_data::DemoOffers::new(200, 3, anchor)
            .map(|document| {
                crate::offers::model::Offer::parse(document, &agencies)
                    .unwrap()
                    .facts
            })
            .collect();
        let context = crate::search::params::Context {
            agencies: &agencies,
            now: anchor.timestamp(),
            indexed: &|_, _| false,
        };
        let queries = build(&corpus, 10, 3);
        assert_eq!(queries.len(), 80);
        for query in queries {
            let request =
                crate::search::params::SearchRequest::parse(&query.params, &context).unwrap();
            assert_eq!(
                request.ranked_by_keywords_alone(),
                query.class.ranked_by_keywords_alone(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn title_words_keep_letters_only_and_lowercase() {
        assert_eq!(
            title_words("Aide-soignant / Aide-soignante (H/F) 35h"),
            vec!["aide", "soignant", "aide", "soignante"]
        );
    }

    #[test]
    fn title_phrases_are_consecutive_words_of_the_job() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20 {
            let phrase = title_phrase("Agent d'entretien des locaux (H/F) - CDI", &mut rng);
            let phrase = phrase.expect("a title of four words has a phrase");
            assert!(
                ["Agent d'entretien des", "d'entretien des locaux"].contains(&phrase.as_str()),
                "{phrase}"
            );
        }
        assert_eq!(title_phrase("Cariste (H/F)", &mut rng), None);
    }
}
