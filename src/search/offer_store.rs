//! The offers a page answers, stored by relais in a file of each segment's
//! own (`.offers`): each offer's record one after the other, then where
//! each record ends, then how many there are. A page's offer is then two
//! reads of that table and a slice of the file. tantivy's document store
//! found each offer through a skip list (seven levels at a million offers),
//! copied its block, then decoded its fields one by one. Measured at
//! 1,000,000 offers, p50 over the benchmark's 200 queries of a class, in
//! one session: three keywords 169 → 117 µs (tantivy's own collectors,
//! reading the page as relais does, 115 → 68 µs), a common keyword
//! 1.24 → 0.85 ms, filters only 101 → 44 µs.
//!
//! A record is the offer's id and its document as stored in the database:
//! the id's length (4 bytes, little-endian), the id, the document. Not
//! compressed: LZ4 gained little on one offer (1.5 KB) and cost a tenth of
//! the indexing when tantivy's store compressed them. A segment being
//! indexed holds its records in memory, counted in the writer's budget.
//!
//! tantivy puts a segment's documents in an order of its own (the index is
//! sorted, and merges drop deleted offers), and tells its own components
//! which document went where, not plugins. Every offer version has its own
//! feed sequence (`schema::VERSION`, a fast field): written before this
//! file, the segment's column of versions says, for each of its documents,
//! which record is its.

use std::any::Any;
use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;

use foldhash::fast::RandomState;
use tantivy::columnar::{Column, ColumnarReader};
use tantivy::directory::{OwnedBytes, TerminatingWrite, WritePtr};
use tantivy::index::SegmentComponent;
use tantivy::indexer::DocIdMapping;
use tantivy::schema::document::ErasedDocument;
use tantivy::schema::{Field, FieldType, Schema, Value};
use tantivy::{
    DocId, PluginMergeContext, PluginWriter, PluginWriterContext, Segment, SegmentPlugin,
    SegmentReader, TantivyDocument, TantivyError,
};

use super::schema::VERSION;

/// The extension of the segment file.
pub const EXTENSION: &str = "offers";
/// The type of the schema's field of records, which only this store reads.
pub const RECORD_TYPE: &str = "relais_offer_record";

const LENGTH: usize = size_of::<u64>();
const ID_LENGTH: usize = size_of::<u32>();
/// The bytes the processor brings from memory at once.
const CACHE_LINE: usize = 64;

/// An offer's record, as the index document carries it to the store.
pub fn record(id: &str, document: &str) -> Vec<u8> {
    let mut record = Vec::with_capacity(ID_LENGTH + id.len() + document.len());
    // An id is a few dozen bytes (`offers::model`).
    record.extend_from_slice(&(id.len() as u32).to_le_bytes());
    record.extend_from_slice(id.as_bytes());
    record.extend_from_slice(document.as_bytes());
    record
}

fn component() -> SegmentComponent {
    SegmentComponent::Custom(EXTENSION.to_owned())
}

fn corrupted(what: &str) -> TantivyError {
    TantivyError::InternalError(format!("magasin des offres illisible : {what}"))
}

/// The store, as tantivy writes and merges segments.
pub struct OfferStorePlugin;

impl SegmentPlugin for OfferStorePlugin {
    fn extensions(&self) -> &[&str] {
        &[EXTENSION]
    }

    fn create_writer(&self, ctx: &PluginWriterContext) -> tantivy::Result<Box<dyn PluginWriter>> {
        let schema = ctx.segment.schema();
        Ok(Box::new(OfferStoreWriter {
            records: record_field(&schema)?,
            version: schema.get_field(VERSION)?,
            bytes: Vec::new(),
            ends: Vec::new(),
            versions: Vec::new(),
        }))
    }

    /// Each offer of the merged segment is found in the segment it comes
    /// from by its version: versions are unique to offers living in the
    /// index (a change deletes the offer's previous version).
    fn merge(&self, ctx: PluginMergeContext) -> tantivy::Result<()> {
        let mut sources = Vec::with_capacity(ctx.readers.len());
        let mut by_version = HashMap::with_hasher(RandomState::default());
        for (source, reader) in ctx.readers.iter().enumerate() {
            let versions = reader.fast_fields().u64(VERSION)?;
            for doc in reader.doc_ids_alive() {
                by_version.insert(version(&versions, doc)?, (source, doc));
            }
            sources.push(OfferStore::open(reader)?);
        }
        let mut file = StoreFile::create(ctx.target_segment)?;
        let versions = segment_versions(ctx.target_segment)?;
        for doc in 0..versions.num_docs() {
            let (source, source_doc) = by_version
                .get(&version(&versions, doc)?)
                .ok_or_else(|| corrupted("offre fusionnée sans origine"))?;
            file.add(sources[*source].bytes_of(*source_doc)?)?;
        }
        file.finish()
    }
}

fn record_field(schema: &Schema) -> tantivy::Result<Field> {
    schema
        .fields()
        .find_map(|(field, entry)| match entry.field_type() {
            FieldType::Custom(options) if options.type_name() == RECORD_TYPE => Some(field),
            _ => None,
        })
        .ok_or_else(|| corrupted("pas de champ d'offres dans le schéma"))
}

fn version(versions: &Column<u64>, doc: DocId) -> tantivy::Result<u64> {
    versions
        .first(doc)
        .ok_or_else(|| corrupted("offre sans version"))
}

/// The version column of a segment being written: tantivy writes fast
/// fields before any plugin's file.
fn segment_versions(segment: &Segment) -> tantivy::Result<Column<u64>> {
    let columns = ColumnarReader::open(segment.open_read(SegmentComponent::FastFields)?)?;
    let column = match columns.read_columns(VERSION)?.first() {
        Some(handle) => handle.open_u64_lenient()?,
        None => None,
    };
    column.ok_or_else(|| corrupted("pas de colonne de versions"))
}

/// The records of a segment being indexed, in the order documents came.
struct OfferStoreWriter {
    records: Field,
    version: Field,
    bytes: Vec<u8>,
    /// Where each record ends in `bytes`.
    ends: Vec<usize>,
    versions: Vec<u64>,
}

impl OfferStoreWriter {
    fn record(&self, doc: usize) -> &[u8] {
        let start = doc.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.bytes[start..self.ends[doc]]
    }
}

impl PluginWriter for OfferStoreWriter {
    fn add_document(
        &mut self,
        _doc_id: DocId,
        doc: &dyn ErasedDocument,
        _schema: &Schema,
    ) -> tantivy::Result<()> {
        let doc = doc
            .as_any()
            .downcast_ref::<TantivyDocument>()
            .ok_or_else(|| corrupted("document d'un autre type"))?;
        let record = doc
            .get_first(self.records)
            .and_then(|value| value.as_custom());
        let version = doc.get_first(self.version).and_then(|value| value.as_u64());
        let (Some(record), Some(version)) = (record, version) else {
            return Err(TantivyError::InvalidArgument(
                "offre indexée sans son enregistrement ou sa version".to_owned(),
            ));
        };
        self.bytes.extend_from_slice(record);
        self.ends.push(self.bytes.len());
        self.versions.push(version);
        Ok(())
    }

    fn serialize(
        self: Box<Self>,
        segment: &Segment,
        _doc_id_map: Option<&DocIdMapping>,
    ) -> tantivy::Result<()> {
        let by_version: HashMap<u64, usize, RandomState> = self
            .versions
            .iter()
            .enumerate()
            .map(|(doc, version)| (*version, doc))
            .collect();
        let mut file = StoreFile::create(segment)?;
        let versions = segment_versions(segment)?;
        for doc in 0..versions.num_docs() {
            let written = by_version
                .get(&version(&versions, doc)?)
                .ok_or_else(|| corrupted("offre sans enregistrement"))?;
            file.add(self.record(*written))?;
        }
        file.finish()
    }

    fn mem_usage(&self) -> usize {
        self.bytes.capacity()
            + self.ends.capacity() * size_of::<usize>()
            + self.versions.capacity() * size_of::<u64>()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A segment's `.offers` file being written.
struct StoreFile {
    write: WritePtr,
    /// Where each record written ends.
    ends: Vec<u64>,
}

impl StoreFile {
    fn create(segment: &Segment) -> tantivy::Result<StoreFile> {
        Ok(StoreFile {
            write: segment.open_write(component())?,
            ends: Vec::new(),
        })
    }

    fn add(&mut self, record: &[u8]) -> io::Result<()> {
        self.write.write_all(record)?;
        let start = self.ends.last().copied().unwrap_or(0);
        self.ends.push(start + record.len() as u64);
        Ok(())
    }

    fn finish(mut self) -> tantivy::Result<()> {
        for end in &self.ends {
            self.write.write_all(&end.to_le_bytes())?;
        }
        self.write
            .write_all(&(self.ends.len() as u64).to_le_bytes())?;
        self.write.terminate()?;
        Ok(())
    }
}

/// A segment's stored offers, read in place.
pub struct OfferStore {
    bytes: OwnedBytes,
    /// Where the table of record ends starts.
    table: usize,
    count: usize,
}

impl OfferStore {
    pub fn open(reader: &SegmentReader) -> tantivy::Result<OfferStore> {
        let bytes = reader.open_read(component())?.read_bytes()?;
        let count_at = bytes
            .len()
            .checked_sub(LENGTH)
            .ok_or_else(|| corrupted("fichier tronqué"))?;
        let count = read_u64(&bytes, count_at) as usize;
        let table = count
            .checked_mul(LENGTH)
            .and_then(|table_length| count_at.checked_sub(table_length))
            .ok_or_else(|| corrupted("table tronquée"))?;
        Ok(OfferStore {
            bytes,
            table,
            count,
        })
    }

    /// Where an offer's record lies in the file.
    fn range_of(&self, doc: DocId) -> tantivy::Result<Range<usize>> {
        let doc = doc as usize;
        if doc >= self.count {
            return Err(corrupted("document hors du magasin"));
        }
        let end_of = |doc: usize| read_u64(&self.bytes, self.table + doc * LENGTH) as usize;
        let (start, end) = (doc.checked_sub(1).map_or(0, end_of), end_of(doc));
        if start > end || end > self.table {
            return Err(corrupted("enregistrement hors du fichier"));
        }
        Ok(start..end)
    }

    fn bytes_of(&self, doc: DocId) -> tantivy::Result<&[u8]> {
        self.range_of(doc).map(|range| &self.bytes[range])
    }

    /// An offer's record, not yet read.
    pub fn record(&self, doc: DocId) -> tantivy::Result<Record> {
        self.range_of(doc)
            .map(|range| Record(self.bytes.slice(range)))
    }
}

/// An offer's record in a segment's store, held where it lies.
pub struct Record(OwnedBytes);

impl Record {
    /// Reads a byte of each of the record's cache lines, which brings the
    /// whole record from memory (see `query::read_offers`).
    pub fn touch(&self) -> u8 {
        self.0
            .iter()
            .step_by(CACHE_LINE)
            .fold(0, |bytes, byte| bytes ^ byte)
    }

    /// The offer's id and document.
    pub fn read(self) -> tantivy::Result<(String, StoredDocument)> {
        let (id_length, rest) = self
            .0
            .split_first_chunk::<ID_LENGTH>()
            .ok_or_else(|| corrupted("enregistrement tronqué"))?;
        let id_length = u32::from_le_bytes(*id_length) as usize;
        let id = rest
            .get(..id_length)
            .ok_or_else(|| corrupted("identifiant tronqué"))?;
        let id = text(id)?.to_owned();
        let document = self.0.slice(ID_LENGTH + id_length..self.0.len());
        text(&document)?;
        Ok((id, StoredDocument(document)))
    }
}

/// Checked with SIMD: the standard library's check of a page's documents
/// (accented text, byte by byte past the ASCII) was a tenth of a
/// three-keyword search's instructions.
fn text(bytes: &[u8]) -> tantivy::Result<&str> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| corrupted("texte non UTF-8"))
}

/// An offer's document as stored: a JSON object, in UTF-8 (checked when
/// read). Held where it lies rather than copied: a page's documents go
/// straight into the answer's body, and copying them out of the store
/// first was about a twentieth of a three-keyword search at a million
/// offers.
#[derive(Debug, Clone)]
pub struct StoredDocument(OwnedBytes);

impl StoredDocument {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for StoredDocument {
    fn from(document: String) -> StoredDocument {
        StoredDocument(OwnedBytes::new(document.into_bytes()))
    }
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; LENGTH];
    word.copy_from_slice(&bytes[at..at + LENGTH]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use tantivy::indexer::NoMergePolicy;
    use tantivy::{Index, IndexWriter, TantivyDocument, Term};

    use super::{OfferStore, OfferStorePlugin};
    use crate::agencies;
    use crate::offers::demo_data::DemoOffers;
    use crate::offers::model::Offer;
    use crate::search::schema::{self, keyword};

    /// Every living document of every segment, by the id its column holds:
    /// the id and document its record holds.
    fn stored(index: &Index) -> HashMap<String, (String, String)> {
        let searcher = index.reader().unwrap().searcher();
        let mut stored = HashMap::new();
        for reader in searcher.segment_readers() {
            let offers = OfferStore::open(reader).unwrap();
            let ids = reader.fast_fields().str(keyword::ID).unwrap().unwrap();
            for doc in reader.doc_ids_alive() {
                let mut id = String::new();
                let ordinal = ids.term_ords(doc).next().unwrap();
                ids.ord_to_str(ordinal, &mut id).unwrap();
                let (record_id, document) = offers.record(doc).unwrap().read().unwrap();
                let document = String::from_utf8(document.as_bytes().to_vec()).unwrap();
                let record = (record_id, document);
                assert!(stored.insert(id, record).is_none());
            }
        }
        stored
    }

    /// The index sorts each segment by ROME code, and a merge drops deleted
    /// offers and sorts again: each document still finds its own record.
    #[test]
    fn each_offer_keeps_its_record_through_sorting_deletes_and_merges() {
        let (schema, fields) = schema::build();
        let index = Index::builder()
            .schema(schema)
            .settings(schema::settings())
            .register_plugin(Arc::new(OfferStorePlugin))
            .create_in_ram()
            .unwrap();
        schema::register_analyzer(&index);
        let mut writer: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let codes = agencies::reference_codes();
        let offers: Vec<Offer> = DemoOffers::new(300, 7, crate::demo::anchor())
            .map(|document| Offer::parse(document, &codes).unwrap())
            .collect();
        let mut expected = HashMap::new();
        let mut version = 0;
        let mut index_offer = |writer: &mut IndexWriter<TantivyDocument>, offer: &Offer| {
            version += 1;
            let id = offer.id.as_str();
            let json = serde_json::json!({"id": id, "version": version}).to_string();
            writer.delete_term(Term::from_field_text(fields.id, id));
            writer
                .add_document(fields.document(id, version, &offer.facts, &json))
                .unwrap();
            expected.insert(id.to_owned(), (id.to_owned(), json));
        };
        // Three segments, each offer of the last two changed again, some
        // within the segment that holds them.
        for batch in [&offers[..], &offers[..150], &offers[100..200]] {
            for offer in batch.iter().step_by(3).chain(batch.iter()) {
                index_offer(&mut writer, offer);
            }
            writer.commit().unwrap();
        }
        assert_eq!(stored(&index), expected);

        let segments = index.searchable_segment_ids().unwrap();
        assert_eq!(segments.len(), 3);
        writer.merge(&segments).wait().unwrap();
        writer.commit().unwrap();
        assert_eq!(index.searchable_segment_ids().unwrap().len(), 1);
        assert_eq!(stored(&index), expected);
    }
}
