//! Running a search: keywords go to tantivy; filters, facets and sorting are
//! done in one pass over the matching documents' fast fields. By relevance,
//! the page's scores are computed along that pass, or after it for the
//! documents that passed the filters (see `Ranking`). Without keywords and
//! with filters on facets alone, there is no pass: the counts come by
//! combination of facet values, the page from the offers newest first, read
//! until it is full (see `browse_segment`).
//!
//! Facets ignore their own parameter's filter: a document that fails exactly
//! one faceted filter still counts in that facet (and nowhere else), so that
//! a page can show the other choices with their counts.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EnableScoring, Occur, PhraseQuery, Query, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{
    COLLECT_BLOCK_BUFFER_LEN, DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, Term,
};

use super::columns::{NewestFirst, SegmentColumns, read_block};
use super::geo::{self, IndexedCoordinate, UnitVector};
use super::index::{SearchError, SearchIndex};
pub use super::offer_store::StoredDocument;
use super::params::{self, FACETS, Keyword, ParamError, SearchRequest, Sort};
use super::schema::NOT_STATED;
use super::word_pairs::pair_term;

/// Pages ending before this position are ranked with block-max pruning.
const PRUNED_REACH: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct FacetValue {
    #[serde(rename = "valeurPossible")]
    pub value: String,
    #[serde(rename = "nbResultats")]
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Facet {
    #[serde(rename = "filtre")]
    pub name: &'static str,
    #[serde(rename = "agregation")]
    pub values: Vec<FacetValue>,
}

impl Facet {
    /// The facet's values that count, the most frequent first.
    pub fn of(name: &'static str, counts: impl IntoIterator<Item = (String, u64)>) -> Facet {
        let mut values: Vec<FacetValue> = counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(value, count)| FacetValue { value, count })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        Facet { name, values }
    }
}

/// An offer of the page: its id and its document as stored, handed on
/// without being parsed again (the API writes it out as it is).
#[derive(Debug, Clone)]
pub struct FoundOffer {
    pub id: String,
    /// A JSON object: the indexer parsed it before storing it in the index.
    pub document: StoredDocument,
}

impl FoundOffer {
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_slice(self.document.as_bytes()).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub total: usize,
    /// The offers of the requested page.
    pub offers: Vec<FoundOffer>,
    pub facets: Vec<Facet>,
}

pub fn search(index: &SearchIndex, request: &SearchRequest) -> Result<SearchResults, SearchError> {
    let (searcher, columns) = index.searcher_with_columns()?;
    let keywords = keyword_query(index, &request.keywords)?;
    let ranking_weight = match (&keywords, request.sort) {
        (Some(keywords), Sort::Relevance) => Some(
            keywords
                .query
                .weight(EnableScoring::enabled_from_searcher(&searcher))?,
        ),
        _ => None,
    };
    // Deep down a page, the worst score kept stays low: few blocks could be
    // skipped, and skipping has its cost.
    let prunable = keywords.as_ref().is_some_and(|k| k.prunable) && request.end < PRUNED_REACH;
    let ranking = match &ranking_weight {
        None => Ranking::Unranked,
        Some(weight) if prunable || request.filters_offers() => Ranking::Later(weight.as_ref()),
        Some(weight) => Ranking::Along(weight.as_ref()),
    };
    let matching_alone;
    let matching: &dyn Weight = match ranking {
        // Scored along, the ranking weight finds the matches itself.
        Ranking::Along(weight) => weight,
        _ => {
            matching_alone = keywords
                .as_ref()
                .map_or(&AllQuery as &dyn Query, |k| k.query.as_ref())
                .weight(EnableScoring::disabled_from_searcher(&searcher))?;
            matching_alone.as_ref()
        }
    };
    let browsing = keywords.is_none() && request.filters_on_facets_alone();
    let collector = OfferCollector {
        request: Arc::new(request.clone()),
        columns,
        keep: request.end + 1,
    };
    let fruits = searcher
        .segment_readers()
        .iter()
        .enumerate()
        .map(|(segment, reader)| {
            let segment = segment as SegmentOrdinal;
            if browsing {
                collector.browse_segment(segment, reader)
            } else {
                collector.collect_segment(segment, reader, matching, ranking)
            }
        })
        .collect::<tantivy::Result<Vec<_>>>()?;
    let fruit = collector.merge_fruits(fruits);
    let facets = FACETS
        .iter()
        .zip(fruit.facets)
        .map(|(dimension, counts)| Facet::of(dimension.param, counts))
        .collect();
    Ok(SearchResults {
        total: fruit.total,
        offers: read_offers(&collector.columns, fruit.page)?,
        facets,
    })
}

/// The keywords' ranking by tantivy's own collectors, and nothing of
/// relais's pass over the matches: the page by score and the total, the
/// page's offers read as `search` reads them; no facets. The benchmark
/// times it beside `search`, to tell the engine's share of a search from
/// relais's own. `None` for a request that is more than keywords ranked by
/// relevance (`SearchRequest::ranked_by_keywords_alone`).
pub fn engine_alone(
    index: &SearchIndex,
    request: &SearchRequest,
) -> Result<Option<SearchResults>, SearchError> {
    if !request.ranked_by_keywords_alone() {
        return Ok(None);
    }
    let Some(keywords) = keyword_query(index, &request.keywords)? else {
        return Ok(None);
    };
    let (searcher, columns) = index.searcher_with_columns()?;
    let page = TopDocs::with_limit(request.end.saturating_sub(request.start) + 1)
        .and_offset(request.start)
        .order_by_score();
    let (page, total) = searcher.search(keywords.query.as_ref(), &(page, Count))?;
    Ok(Some(SearchResults {
        total,
        offers: read_offers(&columns, page.into_iter().map(|(_, address)| address))?,
        facets: Vec::new(),
    }))
}

fn read_offers(
    columns: &[Arc<SegmentColumns>],
    page: impl IntoIterator<Item = DocAddress>,
) -> Result<Vec<FoundOffer>, SearchError> {
    let records = page
        .into_iter()
        .map(|address| {
            columns[address.segment_ord as usize]
                .offers
                .record(address.doc_id)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The page's records lie far apart, mostly out of the processor's
    // caches: all of them are read before any is checked, a byte a cache
    // line, so that their trips to memory overlap instead of following one
    // another (the median three-keyword search at a million offers, 56 →
    // 49 µs in the bench).
    std::hint::black_box(
        records
            .iter()
            .fold(0, |bytes, record| bytes ^ record.touch()),
    );
    records
        .into_iter()
        .map(|record| {
            let (id, document) = record.read()?;
            Ok(FoundOffer { id, document })
        })
        .collect()
}

/// The keywords as a query: every keyword in the text (the title counting
/// more, see `schema::TITLE_COUNTS`). Weighed without scoring, it reads no
/// frequencies and scores nothing, so facets and totals are counted without
/// scores; ranking then scores only what may enter the page.
struct KeywordQuery {
    query: Box<dyn Query>,
    /// One term (a word, or a two-word phrase's pair): ranking can skip the
    /// blocks of matches whose best score cannot reach the page.
    prunable: bool,
}

/// How the matches are ranked.
#[derive(Clone, Copy)]
enum Ranking<'a> {
    /// Not by relevance: by date or distance (or without keywords).
    Unranked,
    /// Scored as they are matched, in one pass.
    Along(&'a dyn Weight),
    /// Matched and counted first; then those that passed are scored. Worth
    /// a second pass when filters leave few to score, or when blocks of
    /// matches can be skipped.
    Later(&'a dyn Weight),
}

/// A phrase's words must follow each other, the gaps of its stop words
/// kept ("chef de cuisine" finds "chef de cuisine", not "chef cuisine").
/// `None` without keywords: every offer matches, none ranks above another.
/// Keywords that leave no word to look for are refused: otherwise every
/// offer would match (« le », « C++ »).
fn keyword_query(
    index: &SearchIndex,
    keywords: &[Keyword],
) -> Result<Option<KeywordQuery>, ParamError> {
    let text = |words: &[(usize, String)]| -> Box<dyn Query> {
        match words {
            [(_, word)] => Box::new(TermQuery::new(
                Term::from_field_text(index.fields.content, word),
                IndexRecordOption::WithFreqs,
            )),
            phrase => phrase_query(phrase, index.fields.content),
        }
    };
    match asked_once_each(index, keywords).as_slice() {
        [] if keywords.is_empty() => Ok(None),
        [] => Err(params::nothing_to_search()),
        // One word or a phrase of two (one pair), however often asked: one
        // term, which ranks with block-max pruning.
        [Asked { words, .. }] if words.len() <= 2 => Ok(Some(KeywordQuery {
            query: text(words),
            prunable: true,
        })),
        // tantivy's intersection of terms, its fastest. A word asked twice
        // counts twice in the score.
        asked => Ok(Some(KeywordQuery {
            query: all_of(
                asked
                    .iter()
                    .map(|asked| match asked.times {
                        1 => text(&asked.words),
                        times => Box::new(BoostQuery::new(text(&asked.words), times as Score)),
                    })
                    .collect(),
            ),
            prunable: false,
        })),
    }
}

/// A phrase found by its pairs of words that follow each other: two words
/// are one pair, looked up as a word is. Longer, its pairs must follow each
/// other in the text as its words do: each pair stands at the position of
/// its first word, so the pairs' positions decide, read only where all the
/// pairs are (rarer than any of the words).
fn phrase_query(words: &[(usize, String)], text: Field) -> Box<dyn Query> {
    let mut pairs: Vec<(usize, Term)> = words
        .iter()
        .zip(words.iter().skip(1))
        .map(|((at, first), (next, second))| {
            let pair = pair_term(first, next - at, second);
            (*at, Term::from_field_text(text, &pair))
        })
        .collect();
    match pairs.len() {
        1 => Box::new(TermQuery::new(
            pairs.remove(0).1,
            IndexRecordOption::WithFreqs,
        )),
        _ => Box::new(PhraseQuery::new_with_offset(pairs)),
    }
}

/// Offers matching every one of `queries`.
fn all_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    match <[_; 1]>::try_from(queries) {
        Ok([query]) => query,
        Err(queries) => Box::new(BooleanQuery::new(
            queries.into_iter().map(|q| (Occur::Must, q)).collect(),
        )),
    }
}

/// A word (outside phrases) or a phrase to find, as analysed, and how many
/// times it was asked: "gardien, gardienne" is one word asked twice.
struct Asked {
    /// The words with their positions (a word alone is at 0).
    words: Vec<(usize, String)>,
    times: usize,
}

/// Each word or phrase once: every one must match, so a repeat adds no
/// condition, only work.
fn asked_once_each(index: &SearchIndex, keywords: &[Keyword]) -> Vec<Asked> {
    let mut asked: Vec<Asked> = Vec::new();
    let mut ask = |words: Vec<(usize, String)>| match asked.iter_mut().find(|a| a.words == words) {
        Some(again) => again.times += 1,
        None => asked.push(Asked { words, times: 1 }),
    };
    index.with_analyzer(|analyzer| {
        for keyword in keywords {
            let mut tokens: Vec<(usize, String)> = Vec::new();
            let mut stream = analyzer.token_stream(keyword.text());
            while let Some(token) = stream.next() {
                tokens.push((token.position, token.text.clone()));
            }
            if matches!(keyword, Keyword::Phrase(_)) && tokens.len() > 1 {
                ask(tokens);
            } else {
                for (_, word) in tokens {
                    ask(vec![(0, word)]);
                }
            }
        }
    });
    asked
}

/// A candidate for the page. Ordered best first: `primary` ascending (minus
/// the score, or the distance), then `NewestFirst`, then by the id's
/// ordinal among the segment's ids.
#[derive(Debug, Clone, Copy)]
struct Hit {
    primary: f64,
    newest_first: NewestFirst,
    /// Orders ids within a segment only.
    id_ordinal: u64,
    address: DocAddress,
}

impl Hit {
    /// The order as far as it holds across segments: two hits of the same
    /// rank in different segments (long ids sharing their first eight
    /// bytes) need their ids.
    fn rank(&self, other: &Self) -> Ordering {
        self.primary
            .total_cmp(&other.primary)
            .then_with(|| self.newest_first.cmp(&other.newest_first))
    }

    /// A total order, exact within a segment.
    fn order(&self, other: &Self) -> Ordering {
        self.rank(other)
            .then_with(|| self.address.segment_ord.cmp(&other.address.segment_ord))
            .then_with(|| self.id_ordinal.cmp(&other.id_ordinal))
    }
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.order(other) == Ordering::Equal
    }
}
impl Eq for Hit {}
impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order(other)
    }
}

struct OfferCollector {
    request: Arc<SearchRequest>,
    /// By segment ordinal.
    columns: Vec<Arc<SegmentColumns>>,
    keep: usize,
}

struct SegmentFruit {
    segment: SegmentOrdinal,
    total: usize,
    /// By facet slot, the count of each value by its ordinal.
    facet_counts: Vec<Vec<u64>>,
    /// The segment's best hits, in no order.
    hits: Vec<Hit>,
}

struct MergedFruit {
    total: usize,
    /// By facet slot, the values counted.
    facets: Vec<Vec<(String, u64)>>,
    /// The offers of the requested page, in order.
    page: Vec<DocAddress>,
}

/// Where a document stands after the keyword filters: it passes them all,
/// it is out, or it fails exactly one faceted filter (then it counts in
/// that facet only) and stands as that facet's slot + 1. A byte, so that a
/// block of documents is filtered without a branch per document.
type Standing = u8;
const PASSES: Standing = 0;
const REJECTED: Standing = Standing::MAX;

/// Buckets of a block's documents, by standing: those passing every filter
/// (counted in every facet, the total and the page), those failing one
/// facet's filter alone (the facet's slot + 1: counted in that facet only),
/// and those out.
const PASSING: usize = PASSES as usize;
const OUT: usize = FACETS.len() + 1;
const BUCKETS: usize = OUT + 1;

/// Where a document stands after its failures are added up.
fn standing_of(failures: Failures) -> Standing {
    match failures / ONE_FAILURE {
        0 => PASSES,
        1 => (failures % ONE_FAILURE) as Standing,
        _ => REJECTED,
    }
}

/// What failing a filter adds to a document's failures: a faceted filter
/// adds one failure and its facet's standing (its slot + 1) in the low
/// byte, another filter two failures. Added up over the filters, the high
/// byte says whether a document passes them all (0), fails one faceted
/// filter alone (1: the low byte is that facet's standing) or is out.
type Failures = u16;
const ONE_FAILURE: Failures = 1 << 8;

/// A keyword filter resolved to this segment's term ordinals.
struct SegmentFilter {
    column: Option<StrColumn>,
    /// The filter's facet slot, when its dimension is a facet.
    facet: Option<usize>,
    /// By ordinal, what the value adds to a document's failures (0 when
    /// accepted); one more entry at the end for a document without one.
    failures: Vec<Failures>,
}

struct OfferSegmentCollector {
    request: Arc<SearchRequest>,
    keep: usize,
    segment: SegmentOrdinal,
    columns: Arc<SegmentColumns>,
    filters: Vec<SegmentFilter>,
    origins: Vec<UnitVector>,
    /// The radius, as `geo::haversine`.
    within: Option<f64>,
    facet_columns: Vec<Option<StrColumn>>,
    /// By facet slot, the count of each value by its ordinal.
    facet_counts: Vec<Vec<u64>>,
    /// Passing documents by their combination of facet values.
    combination_counts: CombinationCounts,
    total: usize,
    /// The best hits so far: up to twice the page's reach (and a block),
    /// then cut back to it (a partial sort now and then instead of a
    /// heap's work on every hit: a deep page keeps thousands).
    best: Vec<Hit>,
    /// The worst hit kept at the last cut: a worse one cannot enter the page.
    cutoff: Option<Cutoff>,
    /// Documents with their rank so far, to be considered for the page.
    pending: ScoredBlock,
    /// Whether matches are sifted by filters or places (see `sift`):
    /// otherwise every one passes.
    sifts: bool,
    /// A block's documents by bucket (see `PASSING`): kept from block to
    /// block rather than zeroed for each.
    buckets: Box<[[DocId; BLOCK]; BUCKETS]>,
    /// By relevance, the documents that passed, in order: scored once all
    /// are counted (see `Ranking::Later`).
    ranked_later: bool,
    to_rank: Vec<DocId>,
    /// Documents the keywords matched, passing or not.
    matched: usize,
}

/// Ranking seeks each document that passed when the filters leave fewer
/// than one match in this many: otherwise scoring the matches in order
/// (skipping blocks that cannot reach the page) is cheaper.
const SEEK_WHEN_ONE_IN: usize = 4;

/// Documents and their rank so far, gathered to be considered for the page
/// a block at a time.
struct ScoredBlock {
    docs: [DocId; BLOCK],
    primaries: [f64; BLOCK],
    len: usize,
}

impl Default for ScoredBlock {
    fn default() -> ScoredBlock {
        ScoredBlock {
            docs: [0; BLOCK],
            primaries: [0.0; BLOCK],
            len: 0,
        }
    }
}

impl OfferCollector {
    /// A segment's matching offers, filtered and counted a block at a
    /// time, and its best for the page.
    fn collect_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
        matching: &dyn Weight,
        ranking: Ranking,
    ) -> tantivy::Result<SegmentFruit> {
        let mut collector = self.for_segment(segment, matches!(ranking, Ranking::Later(_)));
        let alive = reader.alive_bitset();
        if let Ranking::Along(ranking) = ranking {
            let mut block = ScoredBlock::default();
            ranking.for_each(reader, &mut |doc, score| {
                if alive.is_none_or(|alive| alive.is_alive(doc)) {
                    block.push(doc, -f64::from(score));
                    if block.is_full() {
                        collector.collect_chunk(&block.docs, Some(&block.primaries));
                        block.len = 0;
                    }
                }
            })?;
            collector.collect_chunk(&block.docs[..block.len], Some(&block.primaries));
            return Ok(collector.harvest());
        }
        let mut living = Vec::with_capacity(BLOCK);
        matching.for_each_no_score(reader, &mut |docs| match alive {
            None => collector.collect_block(docs),
            Some(alive) => {
                living.clear();
                living.extend(docs.iter().copied().filter(|&doc| alive.is_alive(doc)));
                collector.collect_block(&living);
            }
        })?;
        if let Ranking::Later(ranking) = ranking {
            collector.rank(ranking, reader)?;
        }
        Ok(collector.harvest())
    }

    /// A segment browsed without keywords, its filters all on facets: an
    /// offer's standing follows from its combination of facet values, so
    /// the counts come from the segment's counts by combination, and the
    /// page from its offers newest first, read until the page is full.
    fn browse_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFruit> {
        let mut collector = self.for_segment(segment, false);
        let columns = collector.columns.clone();
        let Some(combinations) = &columns.facet_combinations else {
            return Ok(collector.harvest());
        };
        let standings: Vec<Standing> = combinations
            .ordinals
            .iter()
            .map(|ordinals| collector.combination_standing(ordinals))
            .collect();
        let living = columns.living_combinations(reader);
        for (combination, (&count, &standing)) in living.iter().zip(&standings).enumerate() {
            match standing {
                PASSES => {
                    collector.combination_counts.add(combination, count);
                    collector.total += count as usize;
                }
                REJECTED => {}
                failed_facet => {
                    let slot = usize::from(failed_facet) - 1;
                    let ordinal = combinations.ordinals[combination][slot] as usize;
                    if let Some(counted) = collector.facet_counts[slot].get_mut(ordinal) {
                        *counted += count;
                    }
                }
            }
        }
        let wanted = collector.total.min(self.keep);
        let ords = combinations.column.ords();
        let alive = reader.alive_bitset();
        let mut found = 0;
        for &doc in columns.newest_first() {
            if found == wanted {
                break;
            }
            let passes = alive.is_none_or(|alive| alive.is_alive(doc))
                && ords.first(doc).and_then(|c| standings.get(c as usize)) == Some(&PASSES);
            if passes {
                found += 1;
                collector.pend(doc, 0.0);
            }
        }
        collector.consider_pending();
        Ok(collector.harvest())
    }

    fn for_segment(&self, segment: SegmentOrdinal, ranked_later: bool) -> OfferSegmentCollector {
        let columns = self.columns[segment as usize].clone();
        let mut filters = Vec::new();
        for (dimension, values) in &self.request.filters {
            let column = columns.keyword(dimension.field);
            let failure = match dimension.facet {
                Some(slot) => ONE_FAILURE | (slot as Failures + 1),
                None => 2 * ONE_FAILURE,
            };
            let mut failures = vec![failure; column.map_or(0, |c| c.values.len()) + 1];
            if let Some(column) = column {
                for ord in values.iter().filter_map(|value| column.ordinal(value)) {
                    failures[ord as usize] = 0;
                }
            }
            filters.push(SegmentFilter {
                column: column.map(|c| c.column.clone()),
                facet: dimension.facet,
                failures,
            });
        }
        let facet_columns: Vec<Option<StrColumn>> = FACETS
            .iter()
            .map(|d| columns.keyword(d.field).map(|c| c.column.clone()))
            .collect();
        let facet_counts = facet_columns
            .iter()
            .map(|c| vec![0; c.as_ref().map_or(0, |c| c.num_terms())])
            .collect();
        let combination_counts = CombinationCounts::new(
            columns
                .facet_combinations
                .as_ref()
                .map_or(0, |c| c.ordinals.len()),
        );
        OfferSegmentCollector {
            request: self.request.clone(),
            keep: self.keep,
            segment,
            columns,
            filters,
            origins: self
                .request
                .origins
                .iter()
                .copied()
                .map(geo::unit_vector)
                .collect(),
            within: self.request.radius_km.map(geo::haversine_of_km),
            facet_columns,
            facet_counts,
            combination_counts,
            total: 0,
            best: Vec::with_capacity(2 * self.keep + BLOCK),
            cutoff: None,
            pending: ScoredBlock::default(),
            sifts: self.request.filters_offers() || !self.request.origins.is_empty(),
            buckets: Box::new([[0; BLOCK]; BUCKETS]),
            ranked_later,
            to_rank: Vec::new(),
            matched: 0,
        }
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> MergedFruit {
        // Values are named from the segments' columns, and copied only
        // when counted.
        let facets = FACETS
            .iter()
            .enumerate()
            .map(|(slot, dimension)| {
                let mut counted: HashMap<&str, u64> = HashMap::new();
                for fruit in &fruits {
                    let column = self.columns[fruit.segment as usize].keyword(dimension.field);
                    let values = column.map_or(&[][..], |c| &c.values);
                    for (value, &count) in values.iter().zip(&fruit.facet_counts[slot]) {
                        if count > 0 && value != NOT_STATED {
                            *counted.entry(value).or_default() += count;
                        }
                    }
                }
                counted
                    .into_iter()
                    .map(|(value, count)| (value.to_owned(), count))
                    .collect()
            })
            .collect();
        MergedFruit {
            total: fruits.iter().map(|fruit| fruit.total).sum(),
            facets,
            page: self.page(&fruits),
        }
    }

    /// The requested page of the segments' hits. A deep page keeps
    /// thousands of hits: they are partitioned around the page, and only
    /// the page is sorted. Hits of the same rank in different segments are
    /// put in order by their ids, read for them alone.
    fn page(&self, fruits: &[SegmentFruit]) -> Vec<DocAddress> {
        let mut hits: Vec<Hit> = fruits.iter().flat_map(|f| f.hits.iter().copied()).collect();
        let end = self.keep.min(hits.len());
        let start = self.request.start.min(end);
        if start == end {
            return Vec::new();
        }
        if end < hits.len() {
            hits.select_nth_unstable(end - 1);
        }
        if start > 0 {
            hits[..end].select_nth_unstable(start);
        }
        hits[start..end].sort_unstable();
        let (first, last) = (hits[start], hits[end - 1]);
        let tied = |a: &Hit, b: &Hit| a.rank(b) == Ordering::Equal;
        let tied_before: Vec<Hit> = hits[..start]
            .iter()
            .filter(|hit| tied(hit, &first))
            .copied()
            .collect();
        let tied_after: Vec<Hit> = hits[end..]
            .iter()
            .filter(|hit| tied(hit, &last))
            .copied()
            .collect();
        let page = &hits[start..end];
        let tied_within = page.windows(2).any(|pair| tied(&pair[0], &pair[1]));
        if tied_before.is_empty() && tied_after.is_empty() && !tied_within {
            return page.iter().map(|hit| hit.address).collect();
        }
        let edges: Vec<Hit> = tied_before
            .iter()
            .chain(page)
            .chain(&tied_after)
            .copied()
            .collect();
        let mut named = self.with_ids(edges);
        named.sort_by(|(a, a_id), (b, b_id)| a.rank(b).then_with(|| a_id.cmp(b_id)));
        named
            .into_iter()
            .skip(tied_before.len())
            .take(end - start)
            .map(|(hit, _)| hit.address)
            .collect()
    }

    /// Hits with their offer ids, read in one pass over each segment's
    /// dictionary (sorted ordinals): looking each id up alone costs a
    /// block decode every time.
    fn with_ids(&self, hits: Vec<Hit>) -> Vec<(Hit, String)> {
        let mut named = Vec::with_capacity(hits.len());
        for (segment, columns) in self.columns.iter().enumerate() {
            let of_segment: Vec<Hit> = hits
                .iter()
                .filter(|hit| hit.address.segment_ord as usize == segment)
                .copied()
                .collect();
            let mut ords: Vec<u64> = of_segment.iter().map(|hit| hit.id_ordinal).collect();
            ords.sort_unstable();
            ords.dedup();
            let mut found: Vec<String> = Vec::with_capacity(ords.len());
            if let (Some(ids), false) = (&columns.ids, ords.is_empty()) {
                // A missing id would be an index defect; the offer sorts first.
                let _ = ids.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
                    found.push(String::from_utf8_lossy(bytes).into_owned());
                });
            }
            named.extend(of_segment.into_iter().map(|hit| {
                let id = ords
                    .binary_search(&hit.id_ordinal)
                    .ok()
                    .and_then(|i| found.get(i))
                    .cloned()
                    .unwrap_or_default();
                (hit, id)
            }));
        }
        named
    }
}

impl OfferSegmentCollector {
    /// How far a point is from the nearest origin, as `geo::haversine`.
    fn remoteness(&self, point: &UnitVector) -> Option<f64> {
        self.origins
            .iter()
            .map(|origin| geo::haversine(origin, point))
            .min_by(f64::total_cmp)
    }

    /// The standing of each document of a block after the keyword filters,
    /// a column at a time.
    fn standings(&self, docs: &[DocId], standings: &mut [Standing]) {
        let n = docs.len();
        let mut failures = [0 as Failures; BLOCK];
        let mut ords = [0u64; BLOCK];
        for filter in &self.filters {
            match &filter.column {
                Some(column) => read_block(column.ords(), docs, &mut ords[..n], u64::MAX),
                None => ords[..n].fill(u64::MAX),
            }
            let without_value = filter.failures.len() - 1;
            for (failures, &ord) in failures.iter_mut().zip(&ords[..n]) {
                *failures += filter.failures[(ord as usize).min(without_value)];
            }
        }
        for (standing, failures) in standings.iter_mut().zip(failures) {
            *standing = standing_of(failures);
        }
    }

    /// The standing of the offers holding a combination of facet values
    /// (each facet's ordinal), when every filter is on a facet.
    fn combination_standing(&self, ordinals: &[u32; FACETS.len()]) -> Standing {
        let failures = self
            .filters
            .iter()
            .map(|filter| {
                let without_value = filter.failures.len() - 1;
                let ord = filter.facet.map_or(without_value, |slot| {
                    (ordinals[slot] as usize).min(without_value)
                });
                filter.failures[ord]
            })
            .sum();
        standing_of(failures)
    }

    /// Sorts a block's documents into their buckets (see `PASSING`) after
    /// the keyword filters, dates and distance; the buckets' lengths. The
    /// passing documents' places in the block go to `passing_at`, and each
    /// document's distance to `remoteness` when there are places.
    fn sift(
        &mut self,
        docs: &[DocId],
        remoteness: &mut [f64; BLOCK],
        passing_at: &mut [usize; BLOCK],
    ) -> [usize; BUCKETS] {
        let n = docs.len();
        let mut standings = [REJECTED; BLOCK];
        self.standings(docs, &mut standings[..n]);
        let request = &self.request;
        if request.created_from.is_some() || request.created_to.is_some() {
            let mut created = [0i64; BLOCK];
            read_block(&self.columns.created, docs, &mut created[..n], 0);
            for (standing, created) in standings.iter_mut().zip(created) {
                if request.created_from.is_some_and(|from| created < from)
                    || request.created_to.is_some_and(|to| created > to)
                {
                    *standing = REJECTED;
                }
            }
        }
        if !self.origins.is_empty() {
            let mut coordinates = [[0 as IndexedCoordinate; BLOCK]; 3];
            for (column, values) in self.columns.position.iter().zip(&mut coordinates) {
                read_block(column, docs, &mut values[..n], geo::NO_POSITION);
            }
            for i in 0..n {
                if standings[i] == REJECTED {
                    continue;
                }
                let point = geo::from_indexed(std::array::from_fn(|axis| coordinates[axis][i]));
                remoteness[i] = point
                    .and_then(|point| self.remoteness(&point))
                    .unwrap_or(f64::INFINITY);
                if self.within.is_some_and(|within| remoteness[i] > within) {
                    standings[i] = REJECTED;
                }
            }
        }
        // A standing is its bucket. Without a branch per document: every
        // document is written, only its bucket's length moves.
        let buckets = &mut *self.buckets;
        let mut lengths = [0usize; BUCKETS];
        for (i, (&doc, &standing)) in docs.iter().zip(&standings[..n]).enumerate() {
            let bucket = usize::from(standing).min(OUT);
            buckets[bucket][lengths[bucket]] = doc;
            passing_at[lengths[PASSING]] = i;
            lengths[bucket] += 1;
        }
        lengths
    }

    /// A block of documents, sifted (see `sift`): those passing are
    /// counted by their combination of facet values, the others in the
    /// facet of the one filter they fail.
    /// `relevance`: minus the documents' scores, when scored along.
    fn collect_chunk(&mut self, docs: &[DocId], relevance: Option<&[f64]>) {
        self.matched += docs.len();
        // Offers without a position are nowhere: infinitely far.
        let mut remoteness = [f64::INFINITY; BLOCK];
        let mut passing_at = IN_ORDER;
        // Without filters and places, every match passes as it comes.
        let (passing, lengths) = if self.sifts {
            let lengths = self.sift(docs, &mut remoteness, &mut passing_at);
            (&self.buckets[PASSING][..lengths[PASSING]], lengths)
        } else {
            (docs, [0; BUCKETS])
        };
        // Passing documents count in every facet: their combinations of
        // values are counted, and spread over the facets at harvest.
        if let Some(combinations) = &self.columns.facet_combinations
            && !passing.is_empty()
        {
            let mut ords = [0u64; BLOCK];
            read_block(
                combinations.column.ords(),
                passing,
                &mut ords[..passing.len()],
                u64::MAX,
            );
            self.combination_counts.add_each(&ords[..passing.len()]);
        }
        // The others count in the facet of the one filter they fail.
        for (slot, (column, counts)) in self
            .facet_columns
            .iter()
            .zip(self.facet_counts.iter_mut())
            .enumerate()
        {
            if let Some(column) = column {
                let failing = &self.buckets[slot + 1][..lengths[slot + 1]];
                count_ordinals(column.ords(), failing, counts);
            }
        }
        self.total += passing.len();
        if self.ranked_later {
            self.to_rank.extend_from_slice(passing);
            return;
        }
        for (&doc, &i) in passing.iter().zip(&passing_at[..passing.len()]) {
            let primary = match (relevance, self.request.sort) {
                (Some(relevance), _) => relevance[i],
                (None, Sort::Nearest) => remoteness[i],
                // Newest first (or without keywords): the date decides.
                (None, _) => 0.0,
            };
            // `pend`, written out: `passing` borrows the buckets, and a
            // chunk cannot fill the pending block before its end.
            if !self.cutoff.is_some_and(|worst| worst.outranks(primary)) {
                self.pending.push(doc, primary);
            }
        }
        self.consider_pending();
    }

    /// Scores the documents that passed, for the page: each is sought
    /// when the filters left few of the matches; otherwise the matches are
    /// scored in order, skipping the blocks whose best score cannot reach
    /// the page, and those that passed are picked out.
    fn rank(&mut self, ranking: &dyn Weight, reader: &SegmentReader) -> tantivy::Result<()> {
        let to_rank = std::mem::take(&mut self.to_rank);
        if to_rank.len() * SEEK_WHEN_ONE_IN < self.matched {
            let mut scorer = ranking.scorer(reader, 1.0)?;
            for &doc in &to_rank {
                // Both queries match the same documents.
                if scorer.seek(doc) == doc {
                    self.pend(doc, -f64::from(scorer.score()));
                }
            }
        } else {
            // Matches come in order: those that passed are among them.
            let mut next = 0;
            ranking.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
                while to_rank.get(next).is_some_and(|&passed| passed < doc) {
                    next += 1;
                }
                if to_rank.get(next) == Some(&doc) {
                    self.pend(doc, -f64::from(score));
                }
                self.threshold()
            })?;
        }
        self.consider_pending();
        Ok(())
    }

    /// The score a match must pass to be handed over: just under the
    /// worst of a full page (a tie may still enter by its date).
    fn threshold(&self) -> Score {
        match self.cutoff {
            Some(worst) => (-worst.primary as Score).next_down(),
            None => Score::MIN,
        }
    }

    /// Gathers a document to be considered for the page, unless a full
    /// page outranks it whatever its date.
    fn pend(&mut self, doc: DocId, primary: f64) {
        if self.cutoff.is_some_and(|worst| worst.outranks(primary)) {
            return;
        }
        self.pending.push(doc, primary);
        if self.pending.is_full() {
            self.consider_pending();
        }
    }

    /// The pending documents that may enter the page.
    fn consider_pending(&mut self) {
        let n = self.pending.len;
        self.pending.len = 0;
        let mut created = [0i64; BLOCK];
        read_block(
            &self.columns.created,
            &self.pending.docs[..n],
            &mut created[..n],
            0,
        );
        let mut entering = Entering::default();
        for (i, created) in created[..n].iter().enumerate() {
            let (doc, primary) = (self.pending.docs[i], self.pending.primaries[i]);
            if !self
                .cutoff
                .is_some_and(|worst| worst.beats(primary, *created))
            {
                entering.push(doc, primary, *created);
            }
        }
        self.enter_page(&entering);
    }

    /// The hits of a block that may enter the page, with their ids' order
    /// read for them alone, a column at a time.
    fn enter_page(&mut self, entering: &Entering) {
        let n = entering.len;
        let docs = &entering.docs[..n];
        let mut id_orders = [0u64; BLOCK];
        read_block(&self.columns.id_order, docs, &mut id_orders[..n], u64::MAX);
        let mut id_ordinals = [u64::MAX; BLOCK];
        if let Some(ids) = &self.columns.ids {
            read_block(ids.ords(), docs, &mut id_ordinals[..n], u64::MAX);
        }
        for i in 0..n {
            self.best.push(Hit {
                primary: entering.primaries[i],
                newest_first: NewestFirst {
                    created: entering.created[i],
                    id_order: id_orders[i],
                },
                id_ordinal: id_ordinals[i],
                address: DocAddress::new(self.segment, docs[i]),
            });
        }
        // A block may take the list past twice the page's reach.
        if self.best.len() >= 2 * self.keep {
            let (_, worst, _) = self.best.select_nth_unstable(self.keep - 1);
            self.cutoff = Some(Cutoff {
                primary: worst.primary,
                created: worst.newest_first.created,
            });
            self.best.truncate(self.keep);
        }
    }
}

/// The worst hit kept at the last cut of the best: a worse one cannot
/// enter the page.
#[derive(Clone, Copy)]
struct Cutoff {
    primary: f64,
    created: i64,
}

impl Cutoff {
    /// Whether a hit is worse whatever its date: its date (a random access
    /// into a column) need not be read.
    fn outranks(&self, primary: f64) -> bool {
        primary > self.primary
    }

    /// Whether a hit is worse: it cannot enter the page, and its id need
    /// not be read.
    fn beats(&self, primary: f64, created: i64) -> bool {
        primary
            .total_cmp(&self.primary)
            .then_with(|| self.created.cmp(&created))
            == Ordering::Greater
    }
}

/// The documents of a block that beat the cut-off, with their rank so far.
struct Entering {
    docs: [DocId; BLOCK],
    primaries: [f64; BLOCK],
    created: [i64; BLOCK],
    len: usize,
}

impl Default for Entering {
    fn default() -> Entering {
        Entering {
            docs: [0; BLOCK],
            primaries: [0.0; BLOCK],
            created: [0; BLOCK],
            len: 0,
        }
    }
}

impl ScoredBlock {
    fn push(&mut self, doc: DocId, primary: f64) {
        self.docs[self.len] = doc;
        self.primaries[self.len] = primary;
        self.len += 1;
    }

    fn is_full(&self) -> bool {
        self.len == BLOCK
    }
}

impl Entering {
    fn push(&mut self, doc: DocId, primary: f64, created: i64) {
        self.docs[self.len] = doc;
        self.primaries[self.len] = primary;
        self.created[self.len] = created;
        self.len += 1;
    }
}

impl OfferSegmentCollector {
    fn collect_block(&mut self, docs: &[DocId]) {
        for chunk in docs.chunks(BLOCK) {
            self.collect_chunk(chunk, None);
        }
    }

    fn harvest(self) -> SegmentFruit {
        // The best `keep`, in no order: the merge sorts them.
        let mut hits = self.best;
        if hits.len() > self.keep {
            hits.select_nth_unstable(self.keep - 1);
            hits.truncate(self.keep);
        }
        let mut facet_counts = self.facet_counts;
        if let Some(combinations) = &self.columns.facet_combinations {
            self.combination_counts.for_each(|combination, count| {
                for (counts, &ordinal) in facet_counts
                    .iter_mut()
                    .zip(&combinations.ordinals[combination])
                {
                    if let Some(counted) = counts.get_mut(ordinal as usize) {
                        *counted += count;
                    }
                }
            });
        }
        SegmentFruit {
            segment: self.segment,
            total: self.total,
            facet_counts,
            hits,
        }
    }
}

/// Documents counted by their combination of facet values (ordinals in
/// `SegmentColumns::facet_combinations`). A segment of a million offers
/// holds tens of thousands of combinations (about 41,000 in the generated
/// corpus): while the documents are fewer than an eighth of them, each
/// one's combination is listed, rather than an array of them all zeroed
/// and read through for a few hundred matches.
enum CombinationCounts {
    Listed {
        combinations: usize,
        listed: Vec<u32>,
    },
    Counted(Vec<u64>),
}

impl CombinationCounts {
    fn new(combinations: usize) -> CombinationCounts {
        CombinationCounts::Listed {
            combinations,
            listed: Vec::new(),
        }
    }

    /// `count` documents of a combination; one out of range (a document
    /// without a value) is not counted.
    fn add(&mut self, combination: usize, count: u64) {
        if count == 1 {
            self.add_each(&[combination as u64]);
        } else if let Some(counted) = self.counts().get_mut(combination) {
            *counted += count;
        }
    }

    /// One document of each combination of a block: listed while they are
    /// few, counted in place past an eighth of the combinations.
    fn add_each(&mut self, of_documents: &[u64]) {
        if let CombinationCounts::Listed {
            combinations,
            listed,
        } = self
            && listed.len() + of_documents.len() <= *combinations / 8
        {
            let known = *combinations as u64;
            listed.extend(
                of_documents
                    .iter()
                    .filter(|&&combination| combination < known)
                    .map(|&combination| combination as u32),
            );
            return;
        }
        let counts = self.counts();
        for &combination in of_documents {
            if let Some(counted) = counts.get_mut(combination as usize) {
                *counted += 1;
            }
        }
    }

    /// The count of each combination, those listed counted first.
    fn counts(&mut self) -> &mut [u64] {
        if let CombinationCounts::Listed {
            combinations,
            listed,
        } = self
        {
            let mut counts = vec![0; *combinations];
            for &listed in listed.iter() {
                counts[listed as usize] += 1;
            }
            *self = CombinationCounts::Counted(counts);
        }
        match self {
            CombinationCounts::Counted(counts) => counts,
            // Counted just above.
            CombinationCounts::Listed { .. } => &mut [],
        }
    }

    /// Each combination counted, with its count (a listed one may come
    /// several times).
    fn for_each(&self, mut counted: impl FnMut(usize, u64)) {
        match self {
            CombinationCounts::Listed { listed, .. } => {
                for &combination in listed {
                    counted(combination as usize, 1);
                }
            }
            CombinationCounts::Counted(counts) => {
                for (combination, &count) in counts.iter().enumerate() {
                    if count > 0 {
                        counted(combination, count);
                    }
                }
            }
        }
    }
}

/// Documents are filtered by blocks of this many.
const BLOCK: usize = COLLECT_BLOCK_BUFFER_LEN;

/// Each place of a block: where the passing documents stand when all pass.
const IN_ORDER: [usize; BLOCK] = {
    let mut places = [0; BLOCK];
    let mut place = 0;
    while place < BLOCK {
        places[place] = place;
        place += 1;
    }
    places
};

/// Adds the documents of a block to the counts of their values' ordinals.
fn count_ordinals(column: &Column<u64>, docs: &[DocId], counts: &mut [u64]) {
    // Most facets' buckets of failing documents are empty.
    if docs.is_empty() {
        return;
    }
    let mut ords = [0u64; BLOCK];
    read_block(column, docs, &mut ords[..docs.len()], u64::MAX);
    for ord in &ords[..docs.len()] {
        if let Some(count) = counts.get_mut(*ord as usize) {
            *count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::CombinationCounts;

    fn counted(counts: &CombinationCounts) -> BTreeMap<usize, u64> {
        let mut counted = BTreeMap::new();
        counts.for_each(|combination, count| *counted.entry(combination).or_default() += count);
        counted
    }

    #[test]
    fn combinations_count_the_same_listed_or_counted() {
        let mut counts = CombinationCounts::new(80);
        let mut expected: BTreeMap<usize, u64> = BTreeMap::new();
        // Out of range: a document without a combination counts nowhere.
        counts.add(80, 1);
        for (n, combination) in [3, 7, 3, 79, 0].into_iter().enumerate() {
            counts.add(combination, 1);
            *expected.entry(combination).or_default() += 1;
            assert!(matches!(counts, CombinationCounts::Listed { .. }), "{n}");
        }
        assert_eq!(counted(&counts), expected);
        // Past an eighth of the combinations, counted in place, the listed kept.
        for combination in [5, 5, 6, 79, 12, 3] {
            counts.add(combination, 1);
            *expected.entry(combination).or_default() += 1;
        }
        assert!(matches!(counts, CombinationCounts::Counted(_)));
        counts.add(40, 250);
        *expected.entry(40).or_default() += 250;
        assert_eq!(counted(&counts), expected);

        // A block at a time, the same counts, listed while they are few.
        let mut by_blocks = CombinationCounts::new(80);
        by_blocks.add_each(&[80, 3, 7, 3, 79, 0]);
        assert!(matches!(by_blocks, CombinationCounts::Listed { .. }));
        by_blocks.add_each(&[5, 5, 6, 79, 12, 3]);
        assert!(matches!(by_blocks, CombinationCounts::Counted(_)));
        by_blocks.add(40, 250);
        assert_eq!(counted(&by_blocks), expected);

        // Many at once (browsing) are counted in place at once.
        let mut counts = CombinationCounts::new(80);
        counts.add(2, 1);
        counts.add(9, 4);
        assert!(matches!(counts, CombinationCounts::Counted(_)));
        assert_eq!(counted(&counts), BTreeMap::from([(2, 1), (9, 4)]));
    }
}
