//! `relais bench`: relais's search against PostgreSQL full-text search and
//! SQLite FTS5, on the same generated corpus and the same queries, measured
//! in one run on one machine, so that ratios hold whatever the machine.
//!
//! relais is loaded through its real ingest path into its real database
//! (SQLite, and PostgreSQL for the load rate) and its index is built by the
//! real indexer; searches run in-process through `search::query`, with the
//! page's documents, the total and all eight facets, as the API computes them.

mod freshness;
mod http;
mod peers;
pub mod report;
pub mod workload;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::agencies;
use crate::apikeys::{self, Scope};
use crate::config::{AgenciesSettings, DatabaseSettings};
use crate::db::{Database, DbError};
use crate::offers;
use crate::offers::demo_data::DemoOffers;
use crate::offers::model::{Offer, OfferFacts};
use crate::search::index::{self as search_index, SearchError, SearchIndex};
use crate::search::params::{Context, SearchRequest};
use crate::search::query::{self, SearchResults};
use peers::{BulkLoad, PeerRow, PostgresFts, SqliteFts5};
use report::{Agreement, Latencies, LoadFigure, Report};
use workload::{BenchQuery, QueryClass};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("base de données : {0}")]
    Database(#[from] DbError),
    #[error("requête : {0}")]
    Query(#[from] diesel::result::Error),
    #[error("connexion : {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("connexions : {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("index : {0}")]
    Search(#[from] SearchError),
    #[error("fichiers : {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
}

/// What a system answers to a search: the total, the ids of the page in
/// order, and each facet's (value, count) sorted by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub total: u64,
    pub ids: Vec<String>,
    pub facets: Vec<Vec<(String, u64)>>,
}

impl Answer {
    fn sort_facets(&mut self) {
        for values in &mut self.facets {
            values.retain(|(_, count)| *count > 0);
            values.sort();
        }
    }
}

/// A search system under measurement.
pub trait Engine {
    fn name(&self) -> &'static str;
    fn search(&mut self, request: &SearchRequest) -> Result<Answer, BenchError>;
}

struct Relais {
    index: SearchIndex,
}

impl Engine for Relais {
    fn name(&self) -> &'static str {
        "relais"
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Answer, BenchError> {
        Ok(Answer::from(query::search(&self.index, request)?))
    }
}

/// relais's keyword ranking by tantivy's own collectors, for the requests
/// that are nothing more (`query::engine_alone`), and relais's whole search
/// for the others: the stream of queries finds the index as relais's own
/// pass does.
struct EngineAlone {
    index: SearchIndex,
}

impl Engine for EngineAlone {
    fn name(&self) -> &'static str {
        "engine alone"
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Answer, BenchError> {
        let results = match query::engine_alone(&self.index, request)? {
            Some(results) => results,
            None => query::search(&self.index, request)?,
        };
        Ok(Answer::from(results))
    }
}

impl From<SearchResults> for Answer {
    fn from(results: SearchResults) -> Answer {
        let mut answer = Answer {
            total: results.total as u64,
            ids: results.offers.into_iter().map(|offer| offer.id).collect(),
            facets: results
                .facets
                .into_iter()
                .map(|facet| {
                    facet
                        .values
                        .into_iter()
                        .map(|v| (v.value, v.count))
                        .collect()
                })
                .collect(),
        };
        answer.sort_facets();
        answer
    }
}

pub struct Options {
    pub offers: usize,
    pub seed: u64,
    pub queries_per_class: usize,
    /// The peers answer at least the first this many queries of each class
    /// (at most `queries_per_class`): at 1,000,000 offers they take seconds
    /// a query.
    pub peer_queries_per_class: usize,
    /// And the class's next queries while the first peer's untimed pass on
    /// the class has taken less than this: all of a class it answers fast.
    pub peer_budget_per_class: Duration,
    /// A PostgreSQL server URL: the run creates its databases there and drops them.
    pub postgres_url: String,
    /// Where the databases and index of the run are built (emptied first).
    pub work_dir: PathBuf,
    /// Length of each load-tool run over HTTP; zero leaves HTTP out.
    pub http_seconds: u64,
    /// How long the writer changes offers while freshness is measured.
    pub freshness_seconds: u64,
}

/// A database created for the run on the PostgreSQL server, dropped after.
struct ThrowAwayDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ThrowAwayDatabase {
    fn create(admin_url: &str, purpose: &str) -> Result<ThrowAwayDatabase, BenchError> {
        let name = format!("relais_bench_{}_{purpose}", std::process::id());
        let mut admin = PgConnection::establish(admin_url)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .ok_or_else(|| {
                BenchError::Invalid(format!("URL PostgreSQL sans base : {admin_url}"))
            })?;
        Ok(ThrowAwayDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for ThrowAwayDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// Runs the whole benchmark; `say` receives a line per step.
pub fn run(options: &Options, say: &dyn Fn(&str)) -> Result<Report, BenchError> {
    if options.work_dir.exists() {
        std::fs::remove_dir_all(&options.work_dir)?;
    }
    std::fs::create_dir_all(&options.work_dir)?;
    let reference = agencies::load(&AgenciesSettings {
        file: PathBuf::new(),
    })
    .map_err(|e| BenchError::Invalid(e.to_string()))?;
    let agency_codes: HashSet<String> = reference.iter().map(|a| a.code.clone()).collect();
    let anchor = crate::demo::anchor();
    let now = anchor.naive_utc();

    say(&format!(
        "Corpus : {} offres (graine {})",
        options.offers, options.seed
    ));
    // The corpus is generated again for each use rather than held: at
    // 1,000,000 offers it would take most of the memory, and the page cache
    // the systems are measured with.
    let documents = || DemoOffers::new(options.offers, options.seed, anchor);
    let offers = || {
        documents().map(|document| {
            Offer::parse(document, &agency_codes)
                .map_err(|e| BenchError::Invalid(format!("offre de démonstration refusée : {e:?}")))
        })
    };
    let facts: Vec<OfferFacts> = offers()
        .map(|offer| {
            // The queries are drawn from titles and filter values.
            offer.map(|offer| OfferFacts {
                searchable_text: String::new(),
                ..offer.facts
            })
        })
        .collect::<Result<_, _>>()?;
    let queries = workload::build(&facts, options.queries_per_class, options.seed);
    drop(facts);
    let context = Context {
        agencies: &agency_codes,
        now: anchor.timestamp(),
        // Demo offers carry only the referentials' values.
        indexed: &|_, _| false,
    };
    let requests: Vec<(QueryClass, SearchRequest)> = queries
        .iter()
        .map(|q: &BenchQuery| {
            SearchRequest::parse(&q.params, &context)
                .map(|r| (q.class, r))
                .map_err(|e| BenchError::Invalid(format!("requête {:?} : {e}", q.params)))
        })
        .collect::<Result<_, _>>()?;

    let mut loads = Vec::new();
    say("relais (SQLite) : chargement par le chemin d'ingestion, l'indexeur suivant");
    let sqlite_path = options.work_dir.join("relais.db");
    let relais_db = open_relais(&sqlite_path.display().to_string(), &reference)?;
    let index_path = options.work_dir.join("index");
    let (load_time, ingest_time) = {
        // As a bulk import into a running node: the indexer follows the
        // feed while offers are written; a slice is loaded when searches
        // see it all.
        let (index, indexer) =
            search_index::start(&index_path, relais_db.clone(), Duration::from_secs(3600))?;
        let waker = indexer.waker();
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let mut ingest_time = Duration::ZERO;
        let load_time = timed_by_slice(documents().map(Ok), |slice| {
            ingest_time += ingest_all(&relais_db, &agency_codes, slice, now, &|| waker.wake())?;
            let latest = offers::store::latest_sequence(&mut *relais_db.connection()?)?;
            runtime.block_on(index.wait_for(latest));
            Ok(())
        })?;
        indexer.stop();
        (load_time, ingest_time)
    };
    say("relais : reconstruction complète de l'index depuis la base");
    let started = Instant::now();
    search_index::rebuild(&index_path, &relais_db, &|_| {})?;
    let reindex_time = started.elapsed();
    let index_bytes = disk_size(&index_path)?;
    loads.push(LoadFigure {
        system: "relais (SQLite + index)".into(),
        offers: options.offers,
        duration: load_time,
        bytes: Some(disk_size(&sqlite_path)? + index_bytes),
        detail: format!(
            "index à jour en fin de chargement (écriture en base : {:.0} offres/s) ; \
             reconstruction complète en {:.1} s ({} sur disque)",
            rate(options.offers, ingest_time),
            reindex_time.as_secs_f64(),
            report::bytes(index_bytes)
        ),
    });

    say("relais (PostgreSQL) : chargement par le chemin d'ingestion");
    {
        let database = ThrowAwayDatabase::create(&options.postgres_url, "relais")?;
        let relais_pg = open_relais(&database.url, &reference)?;
        let duration = timed_by_slice(documents().map(Ok), |slice| {
            ingest_all(&relais_pg, &agency_codes, slice, now, &|| {}).map(|_| ())
        })?;
        loads.push(LoadFigure {
            system: "relais (PostgreSQL, base seule)".into(),
            offers: options.offers,
            duration,
            bytes: None,
            detail: "le même index se construit ensuite depuis la base".into(),
        });
    }

    let rows = || {
        offers().map(|offer| {
            offer.map(|o| {
                let document = serde_json::Value::Object(o.document).to_string();
                PeerRow::of(o.id.as_str(), &o.facts, document)
            })
        })
    };
    say("PostgreSQL FTS : chargement et index GIN");
    let fts_database = ThrowAwayDatabase::create(&options.postgres_url, "fts")?;
    let mut postgres = PostgresFts::create(&fts_database.url)?;
    let duration = load_peer(&mut postgres, rows())?;
    loads.push(LoadFigure {
        system: "PostgreSQL FTS".into(),
        offers: options.offers,
        duration,
        bytes: Some(postgres.size()?),
        detail: "insertions par lots de 1 000, index créés après".into(),
    });
    say("SQLite FTS5 : chargement et index");
    let fts5_path = options.work_dir.join("fts5.db");
    let mut sqlite = SqliteFts5::create(&fts5_path)?;
    let duration = load_peer(&mut sqlite, rows())?;
    loads.push(LoadFigure {
        system: "SQLite FTS5".into(),
        offers: options.offers,
        duration,
        bytes: Some(disk_size(&fts5_path)?),
        detail: format!(
            "une transaction par tranche de {CORPUS_SLICE} offres, table FTS5 reconstruite après"
        ),
    });

    // Only local writes wake the indexer here, as on a single node.
    let (index, indexer) =
        search_index::start(&index_path, relais_db.clone(), Duration::from_secs(3600))?;
    let mut relais = Relais { index };
    say(&format!("relais : {} requêtes", requests.len()));
    let (relais_times, relais_answers) = measure(&mut relais, &requests)?;
    let mut latencies = vec![Latencies::of("relais", &requests, &relais_times)];
    let mut alone = EngineAlone {
        index: relais.index.clone(),
    };
    say(&format!("{} : {} requêtes", alone.name(), requests.len()));
    let (alone_times, alone_answers) = measure(&mut alone, &requests)?;
    say(&format!(
        "{} : choix des requêtes des pairs",
        postgres.name()
    ));
    let (in_sample, postgres_answers) = peer_sample(
        &mut postgres,
        &requests,
        options.peer_queries_per_class,
        options.peer_budget_per_class,
    )?;
    let sample = sampled(&requests, &in_sample);
    let relais_on_sample = Latencies::of("relais", &sample, &sampled(&relais_times, &in_sample));
    let relais_sample_answers = sampled(&relais_answers, &in_sample);
    let engine_alone = report::EngineAloneFigures {
        latencies: Latencies::of(alone.name(), &requests, &alone_times),
        on_sample: Latencies::of(alone.name(), &sample, &sampled(&alone_times, &in_sample)),
        agreement: Agreement::compare(alone.name(), &requests, &relais_answers, &alone_answers),
    };
    let mut agreement = Vec::new();
    {
        // PostgreSQL's untimed pass chose the sample and gave its answers.
        let peers: [(&mut dyn Engine, Option<Vec<Answer>>); 2] =
            [(&mut postgres, Some(postgres_answers)), (&mut sqlite, None)];
        for (peer, untimed_answers) in peers {
            say(&format!("{} : {} requêtes", peer.name(), sample.len()));
            let answers = match untimed_answers {
                Some(answers) => answers,
                None => untimed_pass(peer, &sample)?,
            };
            let times = timed_pass(peer, &sample)?;
            latencies.push(Latencies::of(peer.name(), &sample, &times));
            agreement.push(Agreement::compare(
                peer.name(),
                &sample,
                &relais_sample_answers,
                &answers,
            ));
        }
    }
    say(&format!(
        "fraîcheur : {} modifications par seconde pendant {} s",
        freshness::CHANGES_PER_SECOND,
        options.freshness_seconds
    ));
    let writing_time = Duration::from_secs(options.freshness_seconds);
    let freshness = freshness::measure(
        freshness::Writer {
            database: &relais_db,
            waker: indexer.waker(),
            agencies: &agency_codes,
            documents: &documents()
                .take(freshness::documents_needed(writing_time))
                .collect::<Vec<_>>(),
            now,
        },
        &relais.index,
        &context,
        writing_time,
    )?;
    indexer.stop();
    let http = if options.http_seconds == 0 {
        None
    } else {
        say("relais par HTTP : le serveur (relais serve) sous oha");
        let api_key = apikeys::create(&mut *relais_db.connection()?, "bench", Scope::Search, now)
            .map_err(|e| BenchError::Invalid(e.to_string()))?;
        let sqlite_url = sqlite_path.display().to_string();
        let server = http::Server {
            database_url: &sqlite_url,
            index: &index_path,
            work_dir: &options.work_dir,
            api_key: &api_key,
        };
        let workloads = http_workloads(&queries);
        let mut figures = http::measure(&server, &workloads, options.http_seconds)?;
        say("PostgreSQL FTS et SQLite FTS5 par HTTP : derrière le même gestionnaire, sous oha");
        let peers = [
            ("PostgreSQL FTS", postgres.pool(PEER_CONNECTIONS)?),
            ("SQLite FTS5", sqlite.pool(PEER_CONNECTIONS)?),
        ];
        for (name, pool) in peers {
            figures.runs.extend(http::measure_peer(
                name,
                pool,
                agency_codes.clone(),
                &workloads[0],
                options.http_seconds,
                &options.work_dir,
            )?);
        }
        Some(figures)
    };
    Ok(Report {
        offers: options.offers,
        seed: options.seed,
        queries_per_class: options.queries_per_class,
        peer_queries_per_class: options.peer_queries_per_class,
        peer_budget_per_class: options.peer_budget_per_class,
        sampling_peer: postgres.name(),
        loads,
        latencies,
        relais_on_sample,
        engine_alone,
        agreement,
        freshness,
        http,
    })
}

/// Connections each peer's server keeps to its database.
const PEER_CONNECTIONS: u32 = 8;

/// One common keyword (a simple search page's load; the peers are measured
/// on it too), then every class mixed.
fn http_workloads(queries: &[BenchQuery]) -> Vec<http::Workload> {
    let target = |q: &BenchQuery| {
        format!(
            "/api/v1/offres/search?{}",
            serde_urlencoded::to_string(&q.params).unwrap_or_default()
        )
    };
    vec![
        http::Workload {
            name: "common-keyword",
            targets: queries
                .iter()
                .filter(|q| q.class == QueryClass::CommonKeyword)
                .map(target)
                .collect(),
        },
        http::Workload {
            name: "all-classes",
            targets: queries.iter().map(target).collect(),
        },
    ]
}

fn open_relais(url: &str, reference: &[agencies::Agency]) -> Result<Database, BenchError> {
    let database = Database::open(&DatabaseSettings {
        url: url.to_owned(),
        pool_size: NonZeroU32::new(2).expect("two is not zero"),
        connect_timeout_secs: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        sqlite_busy_timeout_ms: 5000,
    })?;
    agencies::upsert_all(&mut *database.connection()?, reference)?;
    Ok(database)
}

/// Offers of the corpus generated at a time: a load is timed slice by
/// slice, and generating the next slice is not part of it.
const CORPUS_SLICE: usize = 50_000;

/// Hands `items` to `load` a slice at a time; the time spent in `load`.
fn timed_by_slice<T>(
    items: impl Iterator<Item = Result<T, BenchError>>,
    mut load: impl FnMut(Vec<T>) -> Result<(), BenchError>,
) -> Result<Duration, BenchError> {
    let mut spent = Duration::ZERO;
    offers::in_batches(items, CORPUS_SLICE, |slice| {
        let started = Instant::now();
        load(slice)?;
        spent += started.elapsed();
        Ok(())
    })?;
    Ok(spent)
}

/// Rows into a peer, then its indexes: the time both took.
fn load_peer(
    peer: &mut dyn BulkLoad,
    rows: impl Iterator<Item = Result<PeerRow, BenchError>>,
) -> Result<Duration, BenchError> {
    let inserting = timed_by_slice(rows, |slice| peer.insert(&slice))?;
    let started = Instant::now();
    peer.build_indexes()?;
    Ok(inserting + started.elapsed())
}

/// Every offer through `offers::ingest`, as the API and the import write
/// them; `after_batch` runs after each committed batch.
fn ingest_all(
    database: &Database,
    agencies: &HashSet<String>,
    documents: Vec<serde_json::Value>,
    now: chrono::NaiveDateTime,
    after_batch: &dyn Fn(),
) -> Result<Duration, BenchError> {
    let mut conn = database.bulk_connection()?;
    let started = Instant::now();
    offers::in_batches(
        documents.into_iter().map(Ok::<_, BenchError>),
        offers::INGEST_BATCH,
        |batch| {
            offers::ingest_many(&mut conn, agencies, batch, now, |outcome| {
                outcome
                    .map(|_| ())
                    .map_err(|e| BenchError::Invalid(format!("offre refusée : {e:?}")))
            })?;
            after_batch();
            Ok(())
        },
    )?;
    Ok(started.elapsed())
}

/// Which requests the peers answer, and `first_peer`'s answers to them
/// (its untimed pass): the first `least` of each class, then the next ones
/// while the class has taken it less than `budget`.
fn peer_sample(
    first_peer: &mut dyn Engine,
    requests: &[(QueryClass, SearchRequest)],
    least: usize,
    budget: Duration,
) -> Result<(Vec<bool>, Vec<Answer>), BenchError> {
    let mut spent: HashMap<QueryClass, (usize, Duration)> = HashMap::new();
    let mut chosen = Vec::with_capacity(requests.len());
    let mut answers = Vec::new();
    for (class, request) in requests {
        let (count, time) = spent.entry(*class).or_default();
        let take = *count < least || *time < budget;
        if take {
            let started = Instant::now();
            answers.push(first_peer.search(request)?);
            *time += started.elapsed();
            *count += 1;
        }
        chosen.push(take);
    }
    Ok((chosen, answers))
}

/// The items `chosen` says.
fn sampled<T: Clone>(all: &[T], chosen: &[bool]) -> Vec<T> {
    all.iter()
        .zip(chosen)
        .filter(|(_, chosen)| **chosen)
        .map(|(item, _)| item.clone())
        .collect()
}

/// One untimed pass (warms caches, gives the answers), then one timed pass:
/// the time of each request, and its answer.
fn measure(
    engine: &mut dyn Engine,
    requests: &[(QueryClass, SearchRequest)],
) -> Result<(Vec<Duration>, Vec<Answer>), BenchError> {
    let answers = untimed_pass(engine, requests)?;
    Ok((timed_pass(engine, requests)?, answers))
}

fn untimed_pass(
    engine: &mut dyn Engine,
    requests: &[(QueryClass, SearchRequest)],
) -> Result<Vec<Answer>, BenchError> {
    requests.iter().map(|(_, r)| engine.search(r)).collect()
}

fn timed_pass(
    engine: &mut dyn Engine,
    requests: &[(QueryClass, SearchRequest)],
) -> Result<Vec<Duration>, BenchError> {
    let mut times = Vec::with_capacity(requests.len());
    for (_, request) in requests {
        let started = Instant::now();
        engine.search(request)?;
        times.push(started.elapsed());
    }
    Ok(times)
}

fn rate(count: usize, duration: Duration) -> f64 {
    count as f64 / duration.as_secs_f64().max(1e-9)
}

/// Bytes of a file (with its SQLite `-wal`, if any) or of a folder's files.
fn disk_size(path: &Path) -> Result<u64, BenchError> {
    if path.is_dir() {
        let mut total = 0;
        for entry in std::fs::read_dir(path)? {
            total += disk_size(&entry?.path())?;
        }
        return Ok(total);
    }
    let mut total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    total += std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that answers nothing, and counts the searches it was asked.
    struct Counting(usize);

    impl Engine for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }

        fn search(&mut self, _: &SearchRequest) -> Result<Answer, BenchError> {
            self.0 += 1;
            Ok(Answer {
                total: 0,
                ids: Vec::new(),
                facets: Vec::new(),
            })
        }
    }

    fn requests(per_class: usize) -> Vec<(QueryClass, SearchRequest)> {
        let agencies = HashSet::new();
        let context = Context {
            agencies: &agencies,
            now: 0,
            indexed: &|_, _| false,
        };
        let request = SearchRequest::parse(&[], &context).unwrap();
        QueryClass::ALL
            .iter()
            .flat_map(|&class| std::iter::repeat_n((class, request.clone()), per_class))
            .collect()
    }

    #[test]
    fn the_peers_answer_the_first_queries_of_each_class_then_what_their_budget_allows() {
        let requests = requests(6);
        let mut peer = Counting(0);
        let (chosen, answers) = peer_sample(&mut peer, &requests, 2, Duration::ZERO).unwrap();
        // The requests come class after class: the first two of each.
        assert!(
            chosen
                .chunks(6)
                .all(|class| class == [true, true, false, false, false, false]),
            "{chosen:?}"
        );
        assert_eq!((answers.len(), peer.0), (16, 16));

        // A budget no class uses up: every query.
        let mut peer = Counting(0);
        let hour = Duration::from_secs(3600);
        let (chosen, answers) = peer_sample(&mut peer, &requests, 2, hour).unwrap();
        assert!(chosen.iter().all(|&taken| taken));
        assert_eq!((answers.len(), peer.0), (48, 48));
    }
}
