//! The fast-field columns a search reads, opened once per segment. A
//! segment never changes, and opening its columns and naming the values of
//! its keyword columns cost a search more than reading them did.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tantivy::columnar::{Column, ColumnIndex, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Searcher, SegmentReader};

use super::offer_store::OfferStore;
use super::params::FACETS;
use super::schema::{self, CREATED, FACET_VALUES, ID_ORDER, KEYWORDS, POSITION, keyword};

/// A keyword column with its values, by ordinal.
pub struct KeywordColumn {
    pub column: StrColumn,
    /// The column's values in ordinal order (ordinals follow sorted bytes).
    pub values: Vec<String>,
}

impl KeywordColumn {
    fn open(column: StrColumn) -> tantivy::Result<KeywordColumn> {
        let mut values = Vec::with_capacity(column.num_terms());
        let mut terms = column.dictionary().stream()?;
        while terms.advance() {
            values.push(String::from_utf8_lossy(terms.key()).into_owned());
        }
        Ok(KeywordColumn { column, values })
    }

    /// The ordinal of a value, when some document of the segment has it.
    pub fn ordinal(&self, value: &str) -> Option<u64> {
        self.values
            .binary_search_by(|v| v.as_str().cmp(value))
            .ok()
            .map(|i| i as u64)
    }
}

/// The `FACET_VALUES` column: each offer's facet values together, one
/// ordinal per combination found in the segment.
pub struct FacetCombinations {
    pub column: StrColumn,
    /// By combination ordinal, the ordinal of each facet's value in that
    /// facet's keyword column (`FACETS` order).
    pub ordinals: Vec<[u32; FACETS.len()]>,
}

impl FacetCombinations {
    fn open(
        column: StrColumn,
        keywords: &[(&'static str, Option<KeywordColumn>)],
    ) -> tantivy::Result<FacetCombinations> {
        let facet_columns = FACETS.map(|dimension| keyword_in(keywords, dimension.field));
        let mut ordinals = Vec::with_capacity(column.num_terms());
        let mut terms = column.dictionary().stream()?;
        while terms.advance() {
            let joined = String::from_utf8_lossy(terms.key());
            let values = schema::split_facet_values(&joined).ok_or_else(|| {
                tantivy::TantivyError::InternalError(format!(
                    "valeurs de facettes illisibles dans l'index : {joined:?}"
                ))
            })?;
            // Every offer has a value in every facet column, so each is found.
            ordinals.push(std::array::from_fn(|slot| {
                facet_columns[slot]
                    .and_then(|column| column.ordinal(values[slot]))
                    .map_or(u32::MAX, |ordinal| ordinal as u32)
            }));
        }
        Ok(FacetCombinations { column, ordinals })
    }
}

/// The order of offers that nothing else tells apart (no keywords, or the
/// same score or distance): the newest first, then by the first eight bytes
/// of their ids (`id_order`; the rare tie left goes to the ids themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewestFirst {
    pub created: i64,
    pub id_order: u64,
}

impl Ord for NewestFirst {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .created
            .cmp(&self.created)
            .then_with(|| self.id_order.cmp(&other.id_order))
    }
}

impl PartialOrd for NewestFirst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub struct SegmentColumns {
    /// The offers themselves, for the page.
    pub offers: OfferStore,
    /// Every keyword column but the id's, by field name.
    keywords: Vec<(&'static str, Option<KeywordColumn>)>,
    /// The ids, for the rare tie that `id_order` leaves (long ids sharing
    /// their first eight bytes): no values list, there is one per offer.
    pub ids: Option<StrColumn>,
    pub id_order: Column<u64>,
    pub created: Column<i64>,
    /// The coordinates of the offers' positions (`schema::POSITION`).
    pub position: [Column<i64>; 3],
    /// `None` when the segment has no documents.
    pub facet_combinations: Option<FacetCombinations>,
    max_doc: DocId,
    /// Sorted at the first search that needs it (see `newest_first`).
    newest_first: OnceLock<Box<[DocId]>>,
    /// The counts of `living_combinations`, with the number of deleted
    /// offers they were counted with: offers are only ever deleted from a
    /// segment, so the same number means the same offers.
    living_combinations: Mutex<Option<(DocId, Arc<[u64]>)>>,
}

impl SegmentColumns {
    fn open(reader: &SegmentReader) -> tantivy::Result<SegmentColumns> {
        let fast = reader.fast_fields();
        let keywords: Vec<(&'static str, Option<KeywordColumn>)> = KEYWORDS
            .iter()
            .filter(|&&name| name != keyword::ID)
            .map(|&name| {
                let column = fast.str(name)?.map(KeywordColumn::open).transpose()?;
                Ok((name, column))
            })
            .collect::<tantivy::Result<_>>()?;
        let facet_combinations = fast
            .str(FACET_VALUES)?
            .map(|column| FacetCombinations::open(column, &keywords))
            .transpose()?;
        Ok(SegmentColumns {
            offers: OfferStore::open(reader)?,
            facet_combinations,
            keywords,
            ids: fast.str(keyword::ID)?,
            id_order: fast.u64(ID_ORDER)?,
            created: fast.i64(CREATED)?,
            position: [
                fast.i64(POSITION[0])?,
                fast.i64(POSITION[1])?,
                fast.i64(POSITION[2])?,
            ],
            max_doc: reader.max_doc(),
            newest_first: OnceLock::new(),
            living_combinations: Mutex::new(None),
        })
    }

    /// The segment's offers in `NewestFirst` order, then by the id's
    /// ordinal: the order of a page without keywords, deleted offers
    /// included (a search skips them). Sorted once, when first browsed (about
    /// a tenth of a second at a million offers).
    pub fn newest_first(&self) -> &[DocId] {
        self.newest_first.get_or_init(|| {
            let mut keys = Vec::with_capacity(self.max_doc as usize);
            let (mut created, mut id_orders, mut id_ordinals) =
                ([0i64; CHUNK], [0u64; CHUNK], [u64::MAX; CHUNK]);
            for_each_chunk(0..self.max_doc, |docs| {
                let n = docs.len();
                read_block(&self.created, docs, &mut created[..n], 0);
                read_block(&self.id_order, docs, &mut id_orders[..n], u64::MAX);
                if let Some(ids) = &self.ids {
                    read_block(ids.ords(), docs, &mut id_ordinals[..n], u64::MAX);
                }
                for i in 0..n {
                    let order = NewestFirst {
                        created: created[i],
                        id_order: id_orders[i],
                    };
                    keys.push((order, id_ordinals[i], docs[i]));
                }
            });
            keys.sort_unstable();
            keys.into_iter().map(|(_, _, doc)| doc).collect()
        })
    }

    /// How many living offers of the segment hold each combination of
    /// facet values (by its ordinal): counted again only when offers of the
    /// segment were deleted since.
    pub fn living_combinations(&self, reader: &SegmentReader) -> Arc<[u64]> {
        let deleted = reader.num_deleted_docs();
        let mut cached = self
            .living_combinations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((counted_with, counts)) = &*cached
            && *counted_with == deleted
        {
            return counts.clone();
        }
        let counts: Arc<[u64]> = match &self.facet_combinations {
            None => Arc::new([]),
            Some(combinations) => {
                let mut counts = vec![0; combinations.ordinals.len()];
                let mut ords = [0u64; CHUNK];
                for_each_chunk(reader.doc_ids_alive(), |docs| {
                    let ords = &mut ords[..docs.len()];
                    read_block(combinations.column.ords(), docs, ords, u64::MAX);
                    for &ord in ords.iter() {
                        if let Some(count) = counts.get_mut(ord as usize) {
                            *count += 1;
                        }
                    }
                });
                counts.into()
            }
        };
        *cached = Some((deleted, counts.clone()));
        counts
    }

    /// A keyword column; `None` when no document of the segment has one.
    pub fn keyword(&self, field: &str) -> Option<&KeywordColumn> {
        keyword_in(&self.keywords, field)
    }
}

/// A segment's keyword column by field name, as `SegmentColumns::keyword`.
fn keyword_in<'a>(
    keywords: &'a [(&'static str, Option<KeywordColumn>)],
    field: &str,
) -> Option<&'a KeywordColumn> {
    keywords
        .iter()
        .find(|(name, _)| *name == field)
        .and_then(|(_, column)| column.as_ref())
}

/// The columns of the segments searched lately.
#[derive(Default)]
pub struct ColumnCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentColumns>>>,
}

impl ColumnCache {
    /// The columns of each of the searcher's segments, by segment ordinal.
    /// A segment seen for the first time is opened; segments merged away
    /// are forgotten then.
    pub fn of(&self, searcher: &Searcher) -> tantivy::Result<Vec<Arc<SegmentColumns>>> {
        // A panic while the lock was held leaves a map that is still whole.
        let mut segments = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        let mut columns = Vec::with_capacity(searcher.segment_readers().len());
        let mut opened = false;
        for reader in searcher.segment_readers() {
            let id = reader.segment_id();
            let segment = match segments.get(&id) {
                Some(segment) => segment.clone(),
                None => {
                    opened = true;
                    let segment = Arc::new(SegmentColumns::open(reader)?);
                    segments.insert(id, segment.clone());
                    segment
                }
            };
            columns.push(segment);
        }
        if opened {
            let current: HashSet<SegmentId> = searcher
                .segment_readers()
                .iter()
                .map(SegmentReader::segment_id)
                .collect();
            segments.retain(|id, _| current.contains(id));
        }
        Ok(columns)
    }
}

/// Documents are read from columns by chunks of this many.
const CHUNK: usize = 1024;

/// Hands the documents to `each` a chunk at a time.
fn for_each_chunk(docs: impl Iterator<Item = DocId>, mut each: impl FnMut(&[DocId])) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for doc in docs {
        chunk.push(doc);
        if chunk.len() == CHUNK {
            each(&chunk);
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        each(&chunk);
    }
}

/// The values of a block of documents in a column where every indexed
/// offer has one (keyword columns hold `NOT_STATED` when it states none, so
/// they are dense and a document's row is its id); `missing` otherwise.
pub fn read_block<T>(column: &Column<T>, docs: &[DocId], values: &mut [T], missing: T)
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
{
    if matches!(column.index, ColumnIndex::Full) {
        column.values.get_vals(docs, values);
    } else {
        for (value, &doc) in values.iter_mut().zip(docs) {
            *value = column.first(doc).unwrap_or(missing);
        }
    }
}
