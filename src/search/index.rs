//! The on-disk index and its single writer, the indexer thread that follows
//! the database's offer feed.
//!
//! The indexer applies offer changes in sequence order, commits after each
//! batch with `{schema_version, sequence}` as the commit payload, and reloads
//! the reader right after: a search sees a change as soon as it is committed.
//! Other nodes' writes are found by polling the feed; local writes wake the
//! indexer at once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tantivy::directory::DirectoryLock;
use tantivy::directory::error::{LockError, OpenReadError};
use tantivy::index::SegmentComponent;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexMeta, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use tokio::sync::watch;

use super::columns::{ColumnCache, SegmentColumns};
use super::directory::{self, IndexDirectory};
use super::offer_store::OfferStorePlugin;
use super::params::ParamError;
use super::schema::{self, OfferFields, SCHEMA_VERSION};
use crate::db::{Database, DbError};
use crate::offers::document::Json;
use crate::offers::model::{Offer, OfferStatus};
use crate::offers::store;

/// Changes applied per commit at most, when more are waiting (a rebuild,
/// a bulk import): fewer, larger segments, each offer merged again fewer
/// times. 200,000 offers imported with the indexer following: the index
/// caught up 6 % sooner than at 10,000 (six alternated runs).
const CHANGES_PER_COMMIT: i64 = 20_000;
const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("index de recherche : {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("dossier de l'index : {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(
        "l'index de recherche est déjà utilisé par un autre processus relais ; arrêtez-le d'abord"
    )]
    Busy,
    /// A request the index shows to be wrong: keywords that leave no word
    /// to look for.
    #[error(transparent)]
    Request(#[from] ParamError),
}

#[derive(Serialize, Deserialize)]
struct CommitPayload {
    schema_version: u32,
    sequence: i64,
}

/// Reloads a search makes at most when merges keep taking the files of
/// its searcher's segments away (each takes a merge that ends between a
/// reload and the first search after it).
const STALE_RELOADS: usize = 3;

/// The analyzers searches take turns with (`SearchIndex::with_analyzer`).
struct QueryAnalyzers {
    /// The French analyzer as registered, copied when none is idle.
    french: TextAnalyzer,
    idle: Mutex<Vec<TextAnalyzer>>,
}

impl QueryAnalyzers {
    fn new(french: TextAnalyzer) -> Arc<QueryAnalyzers> {
        Arc::new(QueryAnalyzers {
            french,
            idle: Mutex::default(),
        })
    }
}

/// The read side, shared by every request.
#[derive(Clone)]
pub struct SearchIndex {
    reader: IndexReader,
    /// French analyzers for queries: the same as for documents.
    analyzers: Arc<QueryAnalyzers>,
    pub fields: OfferFields,
    /// The columns of the searched segments, opened once per segment.
    columns: Arc<ColumnCache>,
    applied: watch::Receiver<i64>,
    caught_up: Arc<AtomicBool>,
}

impl SearchIndex {
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Runs `analyse` with an analyzer of its own, kept for the next
    /// searches afterwards: the words it remembers (`word_cache`) serve
    /// them, where a copy for each query stemmed its words again (a
    /// twentieth of a three-keyword search at a million offers). None is
    /// locked while a query is analysed, so no search waits on another's
    /// analysis; there are as many as searches ever ran at once.
    pub(super) fn with_analyzer<R>(&self, analyse: impl FnOnce(&mut TextAnalyzer) -> R) -> R {
        let idle = || {
            // A push or a pop leaves the list whole even if it panicked.
            self.analyzers
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        let taken = idle().pop();
        let mut analyzer = taken.unwrap_or_else(|| self.analyzers.french.clone());
        let analysed = analyse(&mut analyzer);
        idle().push(analyzer);
        analysed
    }

    /// A searcher with the columns of its segments, by segment ordinal.
    /// tantivy opens its own files of a segment as the reader reloads, but
    /// relais's store is opened at the first search of the segment: if a
    /// merge took the segment's files away in between, the searcher is
    /// stale, and a reload gives the merged segment instead.
    pub(super) fn searcher_with_columns(
        &self,
    ) -> Result<(Searcher, Vec<Arc<SegmentColumns>>), SearchError> {
        let mut reloads = 0;
        loop {
            let searcher = self.searcher();
            match self.columns.of(&searcher) {
                Err(tantivy::TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_)))
                    if reloads < STALE_RELOADS =>
                {
                    reloads += 1;
                    self.reader.reload()?;
                }
                columns => return Ok((searcher, columns?)),
            }
        }
    }

    /// Whether some offer of the index (deleted ones until their segment
    /// merges) has `value` in the keyword column `field`.
    pub fn holds(&self, field: &str, value: &str) -> bool {
        self.searcher_with_columns().is_ok_and(|(_, segments)| {
            segments.iter().any(|segment| {
                segment
                    .keyword(field)
                    .is_some_and(|column| column.ordinal(value).is_some())
            })
        })
    }

    /// The last feed sequence visible to searches.
    pub fn applied_sequence(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Waits until searches see every change up to `sequence`.
    pub async fn wait_for(&self, sequence: i64) {
        let mut applied = self.applied.clone();
        // An error means the indexer stopped: nothing more will come.
        let _ = applied.wait_for(|&s| s >= sequence).await;
    }

    /// Whether the indexer's last pass over the feed reached its end: not
    /// yet at start, and no more once a pass fails (a full disk, the
    /// database gone), until one succeeds again.
    pub fn is_caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }
}

enum Signal {
    Wake,
    Stop,
}

/// The write side: owns the only `IndexWriter`, on its own thread.
pub struct Indexer {
    signals: mpsc::Sender<Signal>,
    thread: Option<JoinHandle<()>>,
}

/// A handle to wake the indexer after a local write.
#[derive(Clone)]
pub struct IndexerWaker(mpsc::Sender<Signal>);

impl IndexerWaker {
    pub fn wake(&self) {
        // A stopped indexer has nothing to wake.
        let _ = self.0.send(Signal::Wake);
    }
}

/// What the writer works with.
struct Writing {
    writer: Writer,
    reader: IndexReader,
    fields: OfferFields,
    applied: watch::Sender<i64>,
    folder: Folder,
}

/// The index folder, written by this process alone.
struct Folder {
    directory: IndexDirectory,
    _owner: DirectoryLock,
}

/// Opens the index at `path` (rebuilding it when it is missing, damaged or
/// of another schema version) and starts the indexer thread.
pub fn start(
    path: &Path,
    database: Database,
    poll: Duration,
) -> Result<(SearchIndex, Indexer), SearchError> {
    let (index, stored, folder) = open_or_create(path)?;
    let mut writing = writing(&index, folder)?;
    remove_stray_segment_files(path, &index)?;
    let caught_up = Arc::new(AtomicBool::new(false));
    let latest = store::latest_sequence(&mut *database.connection()?)?;
    let from = match stored {
        // An index ahead of the database belongs to another database.
        Some(sequence) if sequence <= latest => sequence,
        _ => {
            // Emptied at once: a database without offers gives the catch-up
            // nothing to commit, and searches would go on reading the old ones.
            let writer = writing.writer.get()?;
            writer.delete_all_documents()?;
            commit(writer, 0)?;
            writing.reader.reload()?;
            0
        }
    };
    writing.applied.send_replace(from);
    let analyzer = index.tokenizers().get(schema::FRENCH).ok_or_else(|| {
        tantivy::TantivyError::InvalidArgument("analyseur français absent".into())
    })?;
    let search = SearchIndex {
        reader: writing.reader.clone(),
        analyzers: QueryAnalyzers::new(analyzer),
        fields: writing.fields.clone(),
        columns: Arc::default(),
        applied: writing.applied.subscribe(),
        caught_up: caught_up.clone(),
    };
    let (signals, receiver) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("relais-indexer".into())
        .spawn(move || follow(writing, database, receiver, poll, caught_up))?;
    Ok((
        search,
        Indexer {
            signals,
            thread: Some(thread),
        },
    ))
}

/// Rebuilds the whole index from the database, reporting progress.
pub fn rebuild(
    path: &Path,
    database: &Database,
    progress: &dyn Fn(usize),
) -> Result<i64, SearchError> {
    let (index, _, folder) = open_or_create(path)?;
    let mut writing = writing(&index, folder)?;
    remove_stray_segment_files(path, &index)?;
    // No merges along the way: the rebuild merges everything once at the
    // end, and a background merge would take segments from under it.
    writing.writer.without_merges()?;
    writing.writer.get()?.delete_all_documents()?;
    writing.applied.send_replace(0);
    let applied = catch_up(&mut writing, database, progress)?;
    let writer = writing.writer.get()?;
    if applied == 0 {
        commit(writer, 0)?;
    }
    // One segment: every search pays a fixed cost per segment (its columns
    // and dictionaries are opened), and a rebuilt index has nothing to keep apart.
    let segments = index.searchable_segment_ids()?;
    if segments.len() > 1 {
        writer.merge(&segments).wait()?;
    }
    let Writing {
        writer,
        applied,
        folder,
        ..
    } = writing;
    if let Some(writer) = writer.open {
        writer.wait_merging_threads()?;
    }
    // The merged segments' files go now rather than at the next start.
    remove_stray_segment_files(path, &index)?;
    folder.directory.sync_and_unmark()?;
    Ok(*applied.borrow())
}

impl Indexer {
    pub fn waker(&self) -> IndexerWaker {
        IndexerWaker(self.signals.clone())
    }

    /// Stops the thread after its current batch and waits until the index
    /// is on disk; the folder is released for the next process.
    pub fn stop(mut self) {
        let _ = self.signals.send(Signal::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        let _ = self.signals.send(Signal::Stop);
    }
}

fn writing(index: &Index, folder: Folder) -> Result<Writing, SearchError> {
    let (_, fields) = schema::build();
    let writer = Writer::open(index)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        // A stored offer is a block of its own (`schema::settings`), read
        // for a page and seldom again before the next commit replaces the
        // searcher: keeping it cost more than reading it (1M offers, three
        // keywords: p50 4 % lower without).
        .doc_store_cache_num_blocks(0)
        .try_into()?;
    let (applied, _) = watch::channel(0);
    Ok(Writing {
        writer,
        reader,
        fields,
        applied,
        folder,
    })
}

/// The index's only writer, opened again from the last commit after a
/// failed pass: tantivy's writer may then hold half a commit, or have lost
/// its indexing thread and take documents that never reach a segment.
struct Writer {
    index: Index,
    open: Option<IndexWriter<TantivyDocument>>,
    /// A rebuild merges everything once at its end, itself.
    merges: bool,
}

impl Writer {
    fn open(index: &Index) -> Result<Writer, SearchError> {
        let mut writer = Writer {
            index: index.clone(),
            open: None,
            merges: true,
        };
        writer.get()?;
        Ok(writer)
    }

    /// No merges along the way, in this writer and any reopened one.
    fn without_merges(&mut self) -> Result<(), SearchError> {
        self.merges = false;
        self.get()?.set_merge_policy(Box::new(NoMergePolicy));
        Ok(())
    }

    /// The writer, opened anew when the last one was discarded.
    fn get(&mut self) -> Result<&mut IndexWriter<TantivyDocument>, SearchError> {
        let writer = match self.open.take() {
            Some(writer) => writer,
            None => self.opened()?,
        };
        Ok(self.open.insert(writer))
    }

    /// Drops the writer and all it has not committed.
    fn discard(&mut self) {
        self.open = None;
    }

    fn opened(&self) -> Result<IndexWriter<TantivyDocument>, SearchError> {
        let writer = self
            .index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .map_err(|e| match e {
                // Another process; any other failure is the folder's (a full
                // or failing disk), retried at the next pass.
                tantivy::TantivyError::LockFailure(LockError::LockBusy, _) => SearchError::Busy,
                other => SearchError::Index(other),
            })?;
        if !self.merges {
            writer.set_merge_policy(Box::new(NoMergePolicy));
            return Ok(writer);
        }
        // Live changes commit a few offers at a time, and every search pays a
        // fixed cost per segment (small since their columns are kept open):
        // segments of a size merge four at a time (the default waits for
        // eight). Two at a time merged every offer of a bulk import at each
        // doubling, and the merges took a tenth of the import's time.
        let mut merges = LogMergePolicy::default();
        merges.set_min_num_segments(4);
        writer.set_merge_policy(Box::new(merges));
        Ok(writer)
    }
}

fn follow(
    mut writing: Writing,
    database: Database,
    signals: mpsc::Receiver<Signal>,
    poll: Duration,
    caught_up: Arc<AtomicBool>,
) {
    'following: loop {
        match catch_up(&mut writing, &database, &|_| {}) {
            Ok(_) => caught_up.store(true, Ordering::Release),
            Err(error) => {
                // Searches may miss changes meanwhile: the node is not ready.
                caught_up.store(false, Ordering::Release);
                tracing::error!(%error, "indexer could not follow the offer feed; will retry");
                // The next pass starts again from the last commit.
                writing.writer.discard();
            }
        }
        match signals.recv_timeout(poll) {
            Ok(Signal::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => break,
        }
        // Wakes that came meanwhile are served by the next pass.
        while let Ok(signal) = signals.try_recv() {
            if matches!(signal, Signal::Stop) {
                break 'following;
            }
        }
    }
    let Writing { writer, folder, .. } = writing;
    // Merges under way are dropped with the writer: their files are
    // removed at the next start.
    drop(writer);
    if let Err(error) = folder.directory.sync_and_unmark() {
        tracing::error!(%error, "search index not synced at stop; it will be checked at the next start");
    }
}

/// Applies every change after the last applied one; returns how many.
fn catch_up(
    writing: &mut Writing,
    database: &Database,
    progress: &dyn Fn(usize),
) -> Result<usize, SearchError> {
    let mut conn = database.connection()?;
    let mut from = *writing.applied.borrow();
    let mut total = 0;
    loop {
        let changes = store::changes_since(&mut conn, from, CHANGES_PER_COMMIT)?;
        let Some(last) = changes.last() else {
            return Ok(total);
        };
        let last_sequence = last.sequence;
        let writer = writing.writer.get()?;
        for offer in &changes {
            // An offer created after the last change applied cannot be in
            // the index: looking for it in every segment found nothing
            // (a rebuild of 200,000 offers: 6 % of its processor time).
            if offer.first_sequence <= from {
                writer.delete_term(Term::from_field_text(writing.fields.id, &offer.id));
            }
            if offer.status() != Some(OfferStatus::Active) {
                continue;
            }
            match Json::object_of(&offer.document).and_then(|document| Offer::facts_of(&document)) {
                Some(facts) => {
                    writer.add_document(writing.fields.document(
                        &offer.id,
                        // Sequences count from 1.
                        offer.sequence.unsigned_abs(),
                        &facts,
                        &offer.document,
                    ))?;
                }
                None => {
                    tracing::error!(sequence = offer.sequence, "stored offer cannot be indexed")
                }
            }
        }
        commit(writer, last_sequence)?;
        writing.reader.reload()?;
        writing.applied.send_replace(last_sequence);
        from = last_sequence;
        total += changes.len();
        progress(changes.len());
    }
}

fn commit(writer: &mut IndexWriter<TantivyDocument>, sequence: i64) -> Result<(), SearchError> {
    let payload = serde_json::json!(CommitPayload {
        schema_version: SCHEMA_VERSION,
        sequence,
    })
    .to_string();
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&payload);
    prepared.commit()?;
    Ok(())
}

/// Takes the folder, then opens the index and the sequence it holds, or
/// `None` when it must be rebuilt.
fn open_or_create(path: &Path) -> Result<(Index, Option<i64>, Folder), SearchError> {
    std::fs::create_dir_all(path)?;
    let directory = IndexDirectory::open(path).map_err(tantivy::TantivyError::from)?;
    let owner = directory.own().map_err(|error| match error {
        LockError::LockBusy => SearchError::Busy,
        other => SearchError::Index(tantivy::TantivyError::LockFailure(other, None)),
    })?;
    let mut opened = None;
    if path.join("meta.json").exists() {
        match open_existing(&directory) {
            Ok(index) => opened = Some(index),
            Err(reason) => {
                tracing::warn!(%reason, "search index unusable; rebuilding it from the database");
                clear_index_files(path)?;
            }
        }
    }
    directory.mark_unsynced()?;
    let (index, sequence) = match opened {
        Some((index, sequence)) => (index, Some(sequence)),
        None => {
            let (schema, _) = schema::build();
            let index = Index::builder()
                .schema(schema)
                .settings(schema::settings())
                .register_plugin(Arc::new(OfferStorePlugin))
                .open_or_create(directory.clone())?;
            schema::register_analyzer(&index);
            (index, None)
        }
    };
    let folder = Folder {
        directory,
        _owner: owner,
    };
    Ok((index, sequence, folder))
}

fn open_existing(directory: &IndexDirectory) -> Result<(Index, i64), String> {
    let mut index = Index::open(directory.clone()).map_err(|e| e.to_string())?;
    index.register_plugin(Arc::new(OfferStorePlugin));
    schema::register_analyzer(&index);
    let metas = index.load_metas().map_err(|e| e.to_string())?;
    let payload: Option<CommitPayload> = metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    match payload {
        Some(p) if p.schema_version == SCHEMA_VERSION => {
            if directory.is_unsynced() {
                check_segment_files(&index, &metas)?;
            }
            // Opening every segment proves the files are all there.
            index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map(|_: IndexReader| ())
                .map_err(|e| e.to_string())?;
            Ok((index, p.sequence))
        }
        Some(p) => Err(format!(
            "schema version {} instead of {SCHEMA_VERSION}",
            p.schema_version
        )),
        None => Err("no commit payload".to_owned()),
    }
}

/// After a stop that did not wait for the disk (`directory`): every file of
/// every segment is there, whole, as its checksum says.
fn check_segment_files(index: &Index, metas: &IndexMeta) -> Result<(), String> {
    // tantivy lists a file of deletes for every segment, even those without.
    let no_such_file: HashSet<PathBuf> = metas
        .segments
        .iter()
        .filter(|segment| segment.delete_opstamp().is_none())
        .map(|segment| segment.relative_path(SegmentComponent::Delete))
        .collect();
    for file in metas.list_segment_files().difference(&no_such_file) {
        match index.directory().validate_checksum(file) {
            Ok(true) => {}
            Ok(false) => return Err(format!("{} damaged", file.display())),
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

/// Removes tantivy's files only, never anything else a misconfigured path
/// might point at.
fn clear_index_files(path: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let replaced = name.strip_suffix(directory::DRAFT_SUFFIX).unwrap_or(&name);
        let tantivy_file = matches!(replaced, "meta.json" | directory::FILE_LIST)
            || (name.starts_with(".tantivy-") && name.ends_with(".lock"));
        if (segment_of(&name).is_some() || tantivy_file) && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Removes the files of segments the index does not hold. A merge cut short
/// when its writer stopped leaves its files behind, and tantivy no longer
/// tracks them (one was 764 MB at a million offers). Runs with the writer
/// lock held, before the writer has written anything.
fn remove_stray_segment_files(path: &Path, index: &Index) -> Result<(), SearchError> {
    let held: HashSet<String> = index
        .searchable_segment_ids()?
        .iter()
        .map(|id| id.uuid_string())
        .collect();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stray = segment_of(&name).is_some_and(|segment| !held.contains(segment));
        if stray && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The segment id of a segment file's name (32 hexadecimal digits, then
/// an extension).
pub fn segment_of(name: &str) -> Option<&str> {
    name.split_once('.')
        .map(|(stem, _)| stem)
        .filter(|stem| stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agencies;
    use crate::offers::demo_data::DemoOffers;
    use crate::search::params::{Context, SearchRequest};
    use crate::search::query;

    /// A merge that ends after the reader's last reload takes away the
    /// files of segments the searcher still holds: a search then reloads
    /// and finds every offer in the merged segment.
    #[test]
    fn a_search_whose_segments_were_merged_away_finds_them_merged() {
        let folder = tempfile::tempdir().unwrap();
        let (index, _, owned) = open_or_create(folder.path()).unwrap();
        let mut writing = writing(&index, owned).unwrap();
        let codes = agencies::reference_codes();
        let offers: Vec<Offer> = DemoOffers::new(40, 5, crate::demo::anchor())
            .map(|document| Offer::parse(document, &codes).unwrap())
            .collect();
        let writer = writing.writer.get().unwrap();
        writer.set_merge_policy(Box::new(NoMergePolicy));
        for (version, offer) in offers.iter().enumerate() {
            let id = offer.id.as_str();
            let json = serde_json::json!({ "id": id }).to_string();
            writer
                .add_document(
                    writing
                        .fields
                        .document(id, version as u64, &offer.facts, &json),
                )
                .unwrap();
            // Two segments.
            if version == 19 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        writing.reader.reload().unwrap();
        let search = SearchIndex {
            reader: writing.reader.clone(),
            analyzers: QueryAnalyzers::new(index.tokenizers().get(schema::FRENCH).unwrap()),
            fields: writing.fields.clone(),
            columns: Arc::default(),
            applied: writing.applied.subscribe(),
            caught_up: Arc::new(AtomicBool::new(true)),
        };
        let searched = search.searcher().segment_readers().len();
        assert_eq!(searched, 2);

        let segments = index.searchable_segment_ids().unwrap();
        writer.merge(&segments).wait().unwrap();
        writer.garbage_collect_files().wait().unwrap();
        let offers_files = std::fs::read_dir(folder.path())
            .unwrap()
            .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("offers".as_ref()))
            .count();
        assert_eq!(offers_files, 1, "the merged segments' files are gone");
        assert_eq!(search.searcher().segment_readers().len(), searched);

        let context = Context {
            agencies: &codes,
            now: crate::demo::anchor().timestamp(),
            indexed: &|_, _| false,
        };
        let request = SearchRequest::parse(&[], &context).unwrap();
        let results = query::search(&search, &request).unwrap();
        assert_eq!(results.total, offers.len());
        assert_eq!(search.searcher().segment_readers().len(), 1);
    }
}
