//! The fast-field columns a search reads, opened once per segment. A
//! segment never changes, and opening its columns and naming the values of
//! its keyword columns cost a search more than reading them did.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::columnar::{Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

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

pub struct SegmentColumns {
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
        })
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
