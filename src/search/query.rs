//! Running a search: keywords go to tantivy; filters, facets and sorting are
//! done in one pass over the matching documents' fast fields.
//!
//! Facets ignore their own parameter's filter: a document that fails exactly
//! one faceted filter still counts in that facet (and nowhere else), so that
//! a page can show the other choices with their counts.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde::Serializer;
use serde_json::value::RawValue;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{
    COLLECT_BLOCK_BUFFER_LEN, DocAddress, DocId, Score, SegmentOrdinal, SegmentReader,
    TantivyDocument, Term,
};

use super::index::{SearchError, SearchIndex};
use super::params::{FACETS, SearchRequest, Sort};
use super::schema::{CREATED, LATITUDE, LONGITUDE, NOT_STATED, keyword};

const TITLE_BOOST: Score = 2.0;
const EARTH_RADIUS_KM: f64 = 6371.0;

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

/// An offer of the page: its id and its document as stored, handed on
/// without being parsed (the API writes it out as it is).
#[derive(Debug, Clone)]
pub struct FoundOffer {
    pub id: String,
    pub document: Box<RawValue>,
}

impl FoundOffer {
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.document.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for FoundOffer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.document.serialize(serializer)
    }
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub total: usize,
    /// The offers of the requested page.
    pub offers: Vec<FoundOffer>,
    pub facets: Vec<Facet>,
}

/// Great-circle distance in kilometres.
pub fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

pub fn search(index: &SearchIndex, request: &SearchRequest) -> Result<SearchResults, SearchError> {
    let searcher = index.searcher();
    let query = keyword_query(index, &request.keywords);
    let collector = OfferCollector {
        request: Arc::new(request.clone()),
        keep: request.end + 1,
        scoring: request.sort == Sort::Relevance && !request.keywords.is_empty(),
    };
    let fruit = searcher.search(query.as_ref(), &collector)?;
    let mut offers = Vec::new();
    for hit in fruit.hits.into_iter().skip(request.start) {
        let doc: TantivyDocument = searcher.doc(hit.address)?;
        // Stored by the indexer from the database's JSON: a document that
        // is not JSON would be an index defect, shown as null.
        let document = doc
            .get_first(index.fields.document)
            .and_then(|v| v.as_str())
            .and_then(|text| RawValue::from_string(text.to_owned()).ok())
            .unwrap_or_else(|| RawValue::NULL.to_owned());
        offers.push(FoundOffer {
            id: hit.key,
            document,
        });
    }
    let facets = FACETS
        .iter()
        .zip(fruit.facets)
        .map(|(dimension, counts)| {
            let mut values: Vec<FacetValue> = counts
                .into_iter()
                .filter(|(_, count)| *count > 0)
                .map(|(value, count)| FacetValue { value, count })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            Facet {
                name: dimension.param,
                values,
            }
        })
        .collect();
    Ok(SearchResults {
        total: fruit.total,
        offers,
        facets,
    })
}

/// Every keyword must match (in any text field); the title weighs more.
fn keyword_query(index: &SearchIndex, keywords: &[String]) -> Box<dyn Query> {
    let mut analyzer = index.analyzer.clone();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for word in keywords {
        let mut stream = analyzer.token_stream(word);
        while let Some(token) = stream.next() {
            let content = TermQuery::new(
                Term::from_field_text(index.fields.content, &token.text),
                IndexRecordOption::WithFreqs,
            );
            let title = TermQuery::new(
                Term::from_field_text(index.fields.title, &token.text),
                IndexRecordOption::WithFreqs,
            );
            let either: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(content) as Box<dyn Query>),
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(title), TITLE_BOOST)),
                ),
            ]));
            clauses.push((Occur::Must, either));
        }
    }
    if clauses.is_empty() {
        Box::new(AllQuery)
    } else {
        Box::new(BooleanQuery::new(clauses))
    }
}

/// A candidate for the page. Ordered best first: `primary` ascending (minus
/// the score, or the distance), then newest, then offer id ascending.
#[derive(Debug, Clone)]
struct Hit<K> {
    primary: f64,
    created: i64,
    key: K,
    address: DocAddress,
}

impl<K: Ord> Hit<K> {
    fn order(&self, other: &Self) -> Ordering {
        self.primary
            .total_cmp(&other.primary)
            .then_with(|| other.created.cmp(&self.created))
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl<K: Ord> PartialEq for Hit<K> {
    fn eq(&self, other: &Self) -> bool {
        self.order(other) == Ordering::Equal
    }
}
impl<K: Ord> Eq for Hit<K> {}
impl<K: Ord> PartialOrd for Hit<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord> Ord for Hit<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order(other)
    }
}

struct OfferCollector {
    request: Arc<SearchRequest>,
    keep: usize,
    scoring: bool,
}

struct SegmentFruit {
    total: usize,
    facets: Vec<HashMap<String, u64>>,
    hits: Vec<Hit<String>>,
}

struct MergedFruit {
    total: usize,
    facets: Vec<HashMap<String, u64>>,
    hits: Vec<Hit<String>>,
}

/// A keyword filter resolved to this segment's term ordinals: `accepted`
/// is indexed by ordinal.
struct SegmentFilter {
    column: Option<StrColumn>,
    accepted: Vec<bool>,
    facet: Option<usize>,
}

impl SegmentFilter {
    fn accepts(&self, ord: Option<u64>) -> bool {
        ord.is_some_and(|ord| self.accepted.get(ord as usize) == Some(&true))
    }
}

/// Where a document stands after the keyword filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filtered {
    Passes,
    /// Fails exactly this faceted filter: counts in that facet only.
    FailsOnly(usize),
    Rejected,
}

impl Filtered {
    /// After failing one more filter (faceted, or not: `None`).
    fn failing(self, facet: Option<usize>) -> Filtered {
        match (self, facet) {
            (Filtered::Passes, Some(slot)) => Filtered::FailsOnly(slot),
            _ => Filtered::Rejected,
        }
    }
}

struct OfferSegmentCollector {
    request: Arc<SearchRequest>,
    keep: usize,
    segment: SegmentOrdinal,
    filters: Vec<SegmentFilter>,
    facet_columns: Vec<Option<StrColumn>>,
    facet_counts: Vec<Vec<u64>>,
    ids: Option<StrColumn>,
    created: Column<i64>,
    latitude: Column<f64>,
    longitude: Column<f64>,
    total: usize,
    heap: BinaryHeap<Hit<u64>>,
}

impl Collector for OfferCollector {
    type Fruit = MergedFruit;
    type Child = OfferSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let fast = reader.fast_fields();
        let mut filters = Vec::new();
        for (dimension, values) in &self.request.filters {
            let column = fast.str(dimension.field)?;
            let mut accepted = vec![false; column.as_ref().map_or(0, |c| c.num_terms())];
            if let Some(column) = &column {
                for value in values {
                    if let Some(ord) = column.dictionary().term_ord(value)? {
                        accepted[ord as usize] = true;
                    }
                }
            }
            filters.push(SegmentFilter {
                column,
                accepted,
                facet: dimension.facet,
            });
        }
        let facet_columns = FACETS
            .iter()
            .map(|d| fast.str(d.field))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let facet_counts = facet_columns
            .iter()
            .map(|c| vec![0; c.as_ref().map_or(0, |c| c.num_terms())])
            .collect();
        Ok(OfferSegmentCollector {
            request: self.request.clone(),
            keep: self.keep,
            segment,
            filters,
            facet_columns,
            facet_counts,
            ids: fast.str(keyword::ID)?,
            created: fast.i64(CREATED)?,
            latitude: fast.f64(LATITUDE)?,
            longitude: fast.f64(LONGITUDE)?,
            total: 0,
            heap: BinaryHeap::with_capacity(self.keep + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scoring
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<MergedFruit> {
        let mut merged = MergedFruit {
            total: 0,
            facets: vec![HashMap::new(); FACETS.len()],
            hits: Vec::new(),
        };
        for fruit in fruits {
            merged.total += fruit.total;
            for (into, from) in merged.facets.iter_mut().zip(fruit.facets) {
                for (value, count) in from {
                    *into.entry(value).or_default() += count;
                }
            }
            merged.hits.extend(fruit.hits);
        }
        merged.hits.sort();
        merged.hits.truncate(self.keep);
        Ok(merged)
    }
}

impl OfferSegmentCollector {
    /// Distance to the nearest origin, when the offer has a position.
    fn distance(&self, doc: DocId) -> Option<f64> {
        let point = (self.latitude.first(doc)?, self.longitude.first(doc)?);
        self.request
            .origins
            .iter()
            .map(|origin| haversine_km(*origin, point))
            .min_by(f64::total_cmp)
    }

    /// The rest of the checks for a document that passes the keyword
    /// filters or fails exactly one faceted filter: dates, distance, then
    /// the facets, the total and the page.
    fn collect_filtered(&mut self, doc: DocId, score: Score, filtered: Filtered) {
        let created = self.created.first(doc).unwrap_or(0);
        if self.request.created_from.is_some_and(|from| created < from)
            || self.request.created_to.is_some_and(|to| created > to)
        {
            return;
        }
        let distance = if self.request.origins.is_empty() {
            None
        } else {
            self.distance(doc)
        };
        if let Some(radius) = self.request.radius_km
            && !distance.is_some_and(|d| d <= radius)
        {
            return;
        }
        if let Filtered::FailsOnly(slot) = filtered {
            self.count_facet(slot, doc);
            return;
        }
        self.total += 1;
        for slot in 0..FACETS.len() {
            self.count_facet(slot, doc);
        }
        let primary = match self.request.sort {
            Sort::Relevance => -f64::from(score),
            Sort::Newest => 0.0,
            Sort::Nearest => distance.unwrap_or(f64::INFINITY),
        };
        // A page already full of better hits: no need to read the id.
        if self.heap.len() >= self.keep
            && self.heap.peek().is_some_and(|worst| {
                primary
                    .total_cmp(&worst.primary)
                    .then_with(|| worst.created.cmp(&created))
                    == Ordering::Greater
            })
        {
            return;
        }
        let key = self
            .ids
            .as_ref()
            .and_then(|ids| single_ord(ids, doc))
            .unwrap_or(u64::MAX);
        self.heap.push(Hit {
            primary,
            created,
            key,
            address: DocAddress::new(self.segment, doc),
        });
        if self.heap.len() > self.keep {
            self.heap.pop();
        }
    }

    fn count_facet(&mut self, slot: usize, doc: DocId) {
        if let Some(ord) = self.facet_columns[slot]
            .as_ref()
            .and_then(|column| single_ord(column, doc))
            && let Some(count) = self.facet_counts[slot].get_mut(ord as usize)
        {
            *count += 1;
        }
    }
}

impl SegmentCollector for OfferSegmentCollector {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        let mut filtered = Filtered::Passes;
        for filter in &self.filters {
            let ord = filter.column.as_ref().and_then(|c| single_ord(c, doc));
            if !filter.accepts(ord) {
                filtered = filtered.failing(filter.facet);
                if filtered == Filtered::Rejected {
                    return;
                }
            }
        }
        self.collect_filtered(doc, score, filtered);
    }

    /// Without scores (no keywords, or another order than relevance): the
    /// filters read their columns a block of documents at a time.
    fn collect_block(&mut self, docs: &[DocId]) {
        let mut filtered = [Filtered::Passes; COLLECT_BLOCK_BUFFER_LEN];
        let mut ords = [None; COLLECT_BLOCK_BUFFER_LEN];
        for chunk in docs.chunks(COLLECT_BLOCK_BUFFER_LEN) {
            let (filtered, ords) = (&mut filtered[..chunk.len()], &mut ords[..chunk.len()]);
            filtered.fill(Filtered::Passes);
            for filter in &self.filters {
                ords.fill(None);
                if let Some(column) = &filter.column {
                    column.ords().first_vals(chunk, ords);
                }
                for (state, ord) in filtered.iter_mut().zip(ords.iter()) {
                    if !filter.accepts(*ord) {
                        *state = state.failing(filter.facet);
                    }
                }
            }
            for (&doc, &state) in chunk.iter().zip(filtered.iter()) {
                if state != Filtered::Rejected {
                    self.collect_filtered(doc, 0.0, state);
                }
            }
        }
    }

    fn harvest(self) -> SegmentFruit {
        let hits = self.heap.into_sorted_vec();
        // The offer ids of the kept hits in one pass over the dictionary
        // (sorted ordinals): a deep page keeps thousands of hits, and
        // looking each id up alone costs a block decode every time.
        let mut ords: Vec<u64> = hits.iter().map(|hit| hit.key).collect();
        ords.sort_unstable();
        ords.dedup();
        let mut ids: Vec<String> = Vec::with_capacity(ords.len());
        if let Some(column) = &self.ids {
            // A missing id would be an index defect; the offer sorts first.
            let _ = column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
                ids.push(String::from_utf8_lossy(bytes).into_owned());
            });
        }
        let hits = hits
            .into_iter()
            .map(|hit| Hit {
                primary: hit.primary,
                created: hit.created,
                key: ords
                    .binary_search(&hit.key)
                    .ok()
                    .and_then(|i| ids.get(i))
                    .cloned()
                    .unwrap_or_default(),
                address: hit.address,
            })
            .collect();
        let mut value = String::new();
        let facets = self
            .facet_columns
            .iter()
            .zip(self.facet_counts)
            .map(|(column, counts)| {
                let mut named = HashMap::new();
                if let Some(column) = column {
                    for (ord, count) in counts.into_iter().enumerate() {
                        value.clear();
                        if count > 0
                            && column.ord_to_str(ord as u64, &mut value).unwrap_or(false)
                            && value != NOT_STATED
                        {
                            named.insert(value.clone(), count);
                        }
                    }
                }
                named
            })
            .collect();
        SegmentFruit {
            total: self.total,
            facets,
            hits,
        }
    }
}

/// The ordinal of a keyword column's value: every indexed offer has exactly
/// one per keyword field (`NOT_STATED` when it states none), so the column
/// is dense and this is a direct read.
fn single_ord(column: &StrColumn, doc: DocId) -> Option<u64> {
    column.ords().first(doc)
}

#[cfg(test)]
mod tests {
    use super::haversine_km;

    #[test]
    fn haversine_matches_a_known_distance() {
        // Aix-en-Provence town hall to Marseille town hall: about 25 km.
        let d = haversine_km((43.52994, 5.44765), (43.29760, 5.36943));
        assert!((d - 26.5).abs() < 0.5, "{d}");
    }
}
