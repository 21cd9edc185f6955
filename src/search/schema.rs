//! The index schema: built here, once, with a handle for every field. The
//! French analyzer is registered on every open (tokenizers are not stored in
//! the index).

use serde_json::Value as Json;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::store::Compressor;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, StopWordFilter, TextAnalyzer, TextAnalyzerBuilder, Tokenizer,
};
use tantivy::{Index, IndexSettings, IndexSortByField, Order, TantivyDocument};

use super::geo;
use super::offer_store;
use super::params::FACETS;
use super::word_cache::CachedWords;
use super::word_pairs::WordPairs;
use crate::offers::model::OfferFacts;

/// Bump when the schema, the analyzer or the index format changes: an index
/// of another version is rebuilt from the database on start.
pub const SCHEMA_VERSION: u32 = 15;

/// How many times a title's words count in the text: a word of the title
/// weighs as much as three in the rest of the offer (its place in one
/// field's BM25, as BM25F weighs fields). Ranking reads one field: several
/// keywords are tantivy's intersection of their terms alone, a title field
/// beside it doubled the terms to look up and sought each match's title
/// (measured at 1,000,000 offers, three keywords' median in the benchmark's
/// stream of queries: 122–140 µs with a title field, 90–98 µs without).
/// Each copy is a value of its own: a pair of words never spans two.
pub const TITLE_COUNTS: usize = 3;

/// The value of a keyword field an offer does not state: every offer has
/// one value in every keyword column, so reading it is a direct lookup.
pub const NOT_STATED: &str = "";

/// The French analyzer: words, as keywords are sought.
pub const FRENCH: &str = "fr";
/// The French analyzer's words with the pairs that follow each other
/// (`word_pairs`), as texts are indexed.
pub const FRENCH_WITH_PAIRS: &str = "fr_pairs";

/// Categorical fields: raw strings, fast for filters, facets and tie-breaks.
/// (parameter name of the search API, fast field name)
pub mod keyword {
    pub const ID: &str = "id";
    pub const CONTRACT_TYPE: &str = "contract_type";
    pub const CONTRACT_NATURE: &str = "contract_nature";
    pub const ROME: &str = "rome";
    pub const SECTOR: &str = "sector";
    pub const EXPERIENCE: &str = "experience";
    pub const QUALIFICATION: &str = "qualification";
    pub const FULL_TIME: &str = "full_time";
    pub const ACCESSIBLE_TH: &str = "accessible_th";
    pub const AGENCY: &str = "agency";
    pub const COMMUNE: &str = "commune";
    pub const DEPARTMENT: &str = "department";
    pub const PUBLISHED: &str = "published";
    pub const PRESELECTION: &str = "preselection";
    pub const AIDED: &str = "aided";
    pub const IAE: &str = "iae";
}

pub const CREATED: &str = "created";
/// The feed sequence of the offer's version indexed: unique to it, so that
/// the offer store finds each document's record (`offer_store`).
pub const VERSION: &str = "version";
/// The offer's values of the facets (`params::FACETS`), together in one
/// value (`facet_values`): counting the facets of many offers reads one
/// column, and adds one count a document instead of one a facet.
pub const FACET_VALUES: &str = "facet_values";
/// The offer id's first eight bytes as a big-endian number: orders offers
/// by id across segments without reading the id's dictionary.
pub const ID_ORDER: &str = "id_order";
/// The offer's position as a point of the unit sphere (`geo`), one column
/// per coordinate (`geo::to_indexed`); `geo::NO_POSITION` for an offer
/// without one, so that every offer has a value and a block of them is
/// read at once.
pub const POSITION: [&str; 3] = ["position_x", "position_y", "position_z"];

#[derive(Clone)]
pub struct OfferFields {
    pub id: Field,
    /// The text (the title, `TITLE_COUNTS` times, then the rest): its words
    /// and pairs of words, with their positions.
    pub content: Field,
    /// The offer's id and document, for the offer store (`offer_store`).
    pub record: Field,
    pub version: Field,
    pub created: Field,
    pub id_order: Field,
    pub position: [Field; 3],
    pub facet_values: Field,
    keywords: Vec<(&'static str, Field)>,
}

/// The keyword fields, in a fixed order.
pub const KEYWORDS: [&str; 16] = [
    keyword::ID,
    keyword::CONTRACT_TYPE,
    keyword::CONTRACT_NATURE,
    keyword::ROME,
    keyword::SECTOR,
    keyword::EXPERIENCE,
    keyword::QUALIFICATION,
    keyword::FULL_TIME,
    keyword::ACCESSIBLE_TH,
    keyword::AGENCY,
    keyword::COMMUNE,
    keyword::DEPARTMENT,
    keyword::PUBLISHED,
    keyword::PRESELECTION,
    keyword::AIDED,
    keyword::IAE,
];

pub fn build() -> (Schema, OfferFields) {
    let mut builder = Schema::builder();
    // Phrases read the positions of pairs (a word's are not read, but
    // share the field's options).
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH_WITH_PAIRS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let content = builder.add_text_field("content", text);
    let record = builder.add_custom_field("record", offer_store::RECORD_TYPE, Json::Null);
    let version = builder.add_u64_field(VERSION, FAST);
    let created = builder.add_i64_field(CREATED, FAST);
    let id_order = builder.add_u64_field(ID_ORDER, FAST);
    let position = POSITION.map(|name| builder.add_i64_field(name, FAST));
    let facet_values = builder.add_text_field(FACET_VALUES, FAST);
    // Filters and facets read columns alone: only the id is indexed (a
    // change deletes the offer's previous version by its id). Every indexed
    // field costs each new segment, and each merge, a dictionary to build:
    // with 19 of them rather than 3, a live change of one offer took twice
    // the processor time from write to search (400 changes at 100,000
    // offers, one at a time: 6.3 s against 2.8 s of user time).
    let keywords: Vec<(&'static str, Field)> = KEYWORDS
        .iter()
        .map(|&name| {
            let options = if name == keyword::ID {
                STRING | FAST
            } else {
                FAST.into()
            };
            (name, builder.add_text_field(name, options))
        })
        .collect();
    let id = keywords[0].1;
    (
        builder.build(),
        OfferFields {
            id,
            content,
            record,
            version,
            created,
            id_order,
            position,
            facet_values,
            keywords,
        },
    )
}

/// tantivy's document store keeps nothing: the offers a page answers are
/// in relais's own (`offer_store`), and tantivy writes an empty entry for
/// each document, in blocks of the default size. Nothing to compress, so
/// those blocks are written by the thread that indexes or merges rather than
/// handed to a thread of its own.
///
/// Offers ordered by ROME code within each segment: the offers of one job lie
/// together, so the words of a search (mostly one job's) have their matches,
/// those matches' columns and their stored offers in neighbouring memory,
/// where a search that finds them cold in the CPU's caches reads them
/// faster. Measured at 1,000,000 offers against insertion order, p50 over the
/// benchmark's queries: three keywords 0.34 → 0.10 ms, a common keyword
/// 0.88 → 0.55 ms; a full reindex took 66 → 80 s.
pub fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::None,
        docstore_compress_dedicated_thread: false,
        sort_by_field: Some(IndexSortByField {
            field: keyword::ROME.to_owned(),
            order: Order::Asc,
        }),
        ..IndexSettings::default()
    }
}

pub fn register_analyzer(index: &Index) {
    index.tokenizers().register(FRENCH, french_analyzer());
    index
        .tokenizers()
        .register(FRENCH_WITH_PAIRS, french_words().filter(WordPairs).build());
}

fn french_analyzer() -> TextAnalyzer {
    french_words().build()
}

/// Words reach the index under this many bytes (UTF-8): longer ones are
/// not words of an offer, and searches refuse them (`search::params`).
pub const WORD_BYTES_LIMIT: usize = 40;

/// Words of fewer than `WORD_BYTES_LIMIT` bytes, normalised one by one and
/// remembered.
fn french_words() -> TextAnalyzerBuilder<impl Tokenizer> {
    let words = normalised(TextAnalyzer::builder(RawTokenizer::default())).build();
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(WORD_BYTES_LIMIT))
        .filter(CachedWords::new(words))
}

/// Words as offers are indexed and sought: in lower case, without French
/// stop words, accents folded, stemmed.
fn normalised<T: Tokenizer>(words: TextAnalyzerBuilder<T>) -> TextAnalyzerBuilder<impl Tokenizer> {
    words
        .filter(LowerCaser)
        .filter(
            StopWordFilter::new(Language::French)
                .unwrap_or_else(|| StopWordFilter::remove(Vec::new())),
        )
        // Folding before stemming: "activités" and "activites" must reach
        // the same stem, whatever the person typed.
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
}

/// The first eight bytes of an id, zero-padded, as a big-endian number:
/// ids that differ there compare as their numbers do.
pub fn id_order(id: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let head = &id.as_bytes()[..id.len().min(8)];
    bytes[..head.len()].copy_from_slice(head);
    u64::from_be_bytes(bytes)
}

/// The facets' values as one `FACET_VALUES` value: each value after its
/// length and a colon, so that any value reads back whole.
fn facet_values(values: [&str; FACETS.len()]) -> String {
    values
        .iter()
        .map(|value| format!("{}:{value}", value.len()))
        .collect()
}

/// The facets' values of a `FACET_VALUES` value; `None` if it is not one.
pub fn split_facet_values(joined: &str) -> Option<[&str; FACETS.len()]> {
    let mut values = [""; FACETS.len()];
    let mut rest = joined;
    for value in &mut values {
        let (length, after) = rest.split_once(':')?;
        let length: usize = length.parse().ok()?;
        *value = after.get(..length)?;
        rest = &after[length..];
    }
    rest.is_empty().then_some(values)
}

fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

impl OfferFields {
    pub fn keyword(&self, name: &str) -> Option<Field> {
        self.keywords
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The index document of an active offer, in the version of the feed
    /// sequence `version`.
    pub fn document(
        &self,
        id: &str,
        version: u64,
        facts: &OfferFacts,
        json: &str,
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        for _ in 0..TITLE_COUNTS {
            doc.add_text(self.content, &facts.title);
        }
        doc.add_text(self.content, &facts.searchable_text);
        doc.add_custom(self.record, &offer_store::record(id, json));
        doc.add_u64(self.version, version);
        doc.add_i64(self.created, facts.created_at.and_utc().timestamp());
        doc.add_u64(self.id_order, id_order(id));
        let position = facts.position.map_or([geo::NO_POSITION; 3], |position| {
            geo::to_indexed(&geo::unit_vector(position))
        });
        for (field, coordinate) in self.position.iter().zip(position) {
            doc.add_i64(*field, coordinate);
        }
        let experience = facts.experience.to_string();
        let qualification = facts.qualification.map(|q| q.to_string());
        let values: [(&str, Option<&str>); 16] = [
            (keyword::ID, Some(id)),
            (keyword::CONTRACT_TYPE, facts.contract_type.as_deref()),
            (keyword::CONTRACT_NATURE, facts.contract_nature.as_deref()),
            (keyword::ROME, facts.rome_code.as_deref()),
            (keyword::SECTOR, facts.sector.as_deref()),
            (keyword::EXPERIENCE, Some(&experience)),
            (keyword::QUALIFICATION, qualification.as_deref()),
            (keyword::FULL_TIME, facts.full_time.map(flag)),
            (keyword::ACCESSIBLE_TH, Some(flag(facts.accessible_th))),
            (keyword::AGENCY, Some(&facts.agency_code)),
            (keyword::COMMUNE, facts.commune.as_deref()),
            (keyword::DEPARTMENT, facts.department.as_deref()),
            (keyword::PUBLISHED, Some(flag(facts.published))),
            (keyword::PRESELECTION, Some(flag(facts.with_preselection))),
            (keyword::AIDED, Some(flag(facts.aided_contract))),
            (keyword::IAE, Some(flag(facts.iae))),
        ];
        let value_of = |wanted: &str| {
            values
                .iter()
                .find(|(name, _)| *name == wanted)
                .and_then(|(_, value)| *value)
                .unwrap_or(NOT_STATED)
        };
        doc.add_text(
            self.facet_values,
            facet_values(FACETS.map(|dimension| value_of(dimension.field))),
        );
        for (name, value) in values {
            if let Some(field) = self.keyword(name) {
                doc.add_text(field, value.unwrap_or(NOT_STATED));
            }
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{
        RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenStream as _,
    };

    use super::{facet_values, french_analyzer, id_order, normalised, split_facet_values};

    #[test]
    fn remembered_words_are_the_words_normalised_each_time() {
        let text = "Chef de cuisine (H/F) : les cuisiniers et la cuisine, Activités \
                    ACTIVITES activites ; l'été à Aix-en-Provence 13090, \
                    anticonstitutionnellementanticonstitutionnellement chef DE cuisine";
        let tokens = |analyzer: &mut TextAnalyzer| {
            let mut stream = analyzer.token_stream(text);
            let mut tokens: Vec<Token> = Vec::new();
            while let Some(token) = stream.next() {
                tokens.push(token.clone());
            }
            tokens
        };
        let mut each_time = normalised(
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(super::WORD_BYTES_LIMIT)),
        )
        .build();
        let expected = tokens(&mut each_time);
        let words: Vec<&str> = expected.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            &words[..5],
            ["chef", "cuisin", "h", "f", "cuisini"],
            "stop words out, stems in"
        );
        let mut remembering = french_analyzer();
        // Then again, from what it remembered: text, positions and offsets.
        assert_eq!(tokens(&mut remembering), expected);
        assert_eq!(tokens(&mut remembering), expected);
    }

    #[test]
    fn facet_values_read_back_whatever_they_hold() {
        let values = ["CDI", "", "1:2", "é:", "13", "x", "true", "false"];
        assert_eq!(split_facet_values(&facet_values(values)), Some(values));
        assert_eq!(split_facet_values("3:CDI"), None);
        assert_eq!(split_facet_values(&(facet_values(values) + "0:")), None);
    }

    #[test]
    fn id_order_follows_the_order_of_ids_that_differ_in_their_first_eight_bytes() {
        let ids = [
            "0", "00", "1", "123ABCD", "123ABCE", "A", "AB-CD-EF", "Z", "z",
        ];
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(id_order(pair[0]) < id_order(pair[1]), "{pair:?}");
        }
        assert_eq!(id_order("SD-LONG-00001"), id_order("SD-LONG-00002"));
    }
}
