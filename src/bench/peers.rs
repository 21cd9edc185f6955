//! The two systems relais is measured against, written the way a competent
//! engineer would build offer search on each:
//!
//! - **PostgreSQL full-text search**: a `tsvector` column generated with a
//!   French configuration that also strips accents (`unaccent`), the title
//!   weighted above the rest, a GIN index, B-tree indexes on the filter
//!   columns, ranking by `ts_rank_cd`.
//! - **SQLite FTS5**: an external-content FTS5 table with the
//!   `unicode61 remove_diacritics 2` tokenizer, ranking by `bm25()` with the
//!   title weighted double, B-tree indexes on the filter columns.
//!
//! Both answer a search in one statement: the matching rows are
//! materialised once, then the total, the page and each facet (counted on
//! the rows that pass every filter but the facet's own, as relais does) are
//! read from them.

use std::path::PathBuf;

use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sql_types::{BigInt, Double, Nullable, Text};

use super::{Answer, BenchError, Engine};
use crate::offers::model::OfferFacts;
use crate::search::geo;
use crate::search::params::{FACETS, Keyword, SearchRequest, Sort};
use crate::search::query::{Facet, FoundOffer, SearchResults};

diesel::table! {
    bench_offers (id) {
        id -> Text,
        title -> Text,
        content -> Text,
        created -> BigInt,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        contract_type -> Nullable<Text>,
        contract_nature -> Nullable<Text>,
        experience -> Text,
        qualification -> Nullable<Text>,
        agency -> Text,
        department -> Nullable<Text>,
        preselection -> Text,
        aided -> Text,
        document -> Text,
    }
}

/// The filter column of each facet, in `FACETS` order.
const FACET_COLUMNS: [&str; 8] = [
    "contract_type",
    "contract_nature",
    "experience",
    "qualification",
    "agency",
    "department",
    "preselection",
    "aided",
];

/// Kilometres in a degree of latitude on the sphere relais measures on.
const KM_PER_DEGREE: f64 = 111.195;

// The great-circle distance relais uses, in each peer's SQL: a SQL function
// in PostgreSQL, a Rust function registered on the SQLite connection (SQLite
// has no trigonometry of its own).
diesel::define_sql_function! {
    fn haversine_km(lat: Nullable<Double>, lon: Nullable<Double>, lat0: Double, lon0: Double) -> Nullable<Double>;
}

const POSTGRES_HAVERSINE: &str =
    "CREATE FUNCTION haversine_km(lat float8, lon float8, lat0 float8, lon0 float8)
    RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 2 * 6371.0 * asin(sqrt(power(sin(radians(lat - lat0) / 2), 2)
        + cos(radians(lat0)) * cos(radians(lat)) * power(sin(radians(lon - lon0) / 2), 2)))
    $$";

#[derive(Insertable)]
#[diesel(table_name = bench_offers)]
pub struct PeerRow {
    id: String,
    title: String,
    content: String,
    created: i64,
    latitude: Option<f64>,
    longitude: Option<f64>,
    contract_type: Option<String>,
    contract_nature: Option<String>,
    experience: String,
    qualification: Option<String>,
    agency: String,
    department: Option<String>,
    preselection: String,
    aided: String,
    /// The whole offer, returned with the page as relais returns it.
    document: String,
}

impl PeerRow {
    /// The same values relais indexes, so that filters mean the same thing.
    pub fn of(id: &str, facts: &OfferFacts, document: String) -> PeerRow {
        PeerRow {
            id: id.to_owned(),
            title: facts.title.clone(),
            content: facts.searchable_text.clone(),
            created: facts.created_at.and_utc().timestamp(),
            latitude: facts.position.map(|p| p.0),
            longitude: facts.position.map(|p| p.1),
            contract_type: facts.contract_type.clone(),
            contract_nature: facts.contract_nature.clone(),
            experience: facts.experience.to_string(),
            qualification: facts.qualification.map(|q| q.to_string()),
            agency: facts.agency_code.clone(),
            department: facts.department.clone(),
            preselection: facts.with_preselection.to_string(),
            aided: facts.aided_contract.to_string(),
            document,
        }
    }
}

/// Rows rows are inserted by, within both backends' limits on parameters.
const INSERT_BATCH: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Postgres,
    Sqlite,
}

pub struct PostgresFts {
    conn: PgConnection,
    url: String,
}

pub struct SqliteFts5 {
    conn: SqliteConnection,
    path: PathBuf,
}

/// Connections to a loaded peer, for searches side by side (over HTTP).
#[derive(Clone)]
pub enum PeerPool {
    Postgres(Pool<ConnectionManager<PgConnection>>),
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
}

impl PeerPool {
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, BenchError> {
        match self {
            PeerPool::Postgres(pool) => search_on(&mut *pool.get()?, Dialect::Postgres, request),
            PeerPool::Sqlite(pool) => search_on(&mut *pool.get()?, Dialect::Sqlite, request),
        }
    }
}

/// Every pooled SQLite connection needs the distance function.
#[derive(Debug)]
struct WithHaversine;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for WithHaversine {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        register_haversine(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

fn register_haversine(conn: &mut SqliteConnection) -> QueryResult<()> {
    haversine_km_utils::register_impl(
        conn,
        |lat: Option<f64>, lon: Option<f64>, lat0: f64, lon0: f64| {
            Some(geo::haversine_km((lat0, lon0), (lat?, lon?)))
        },
    )
}

impl PostgresFts {
    /// Creates the table in the (throw-away) database at `url`.
    pub fn create(url: &str) -> Result<PostgresFts, BenchError> {
        let mut conn = PgConnection::establish(url)?;
        for statement in [
            "CREATE EXTENSION IF NOT EXISTS unaccent",
            "CREATE TEXT SEARCH CONFIGURATION fr_unaccent (COPY = french)",
            "ALTER TEXT SEARCH CONFIGURATION fr_unaccent ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem",
            POSTGRES_HAVERSINE,
            "CREATE TABLE bench_offers (
                id TEXT PRIMARY KEY, title TEXT NOT NULL, content TEXT NOT NULL,
                created BIGINT NOT NULL, latitude DOUBLE PRECISION, longitude DOUBLE PRECISION,
                contract_type TEXT, contract_nature TEXT, experience TEXT NOT NULL,
                qualification TEXT, agency TEXT NOT NULL, department TEXT,
                preselection TEXT NOT NULL, aided TEXT NOT NULL, document TEXT NOT NULL,
                search tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('fr_unaccent', title), 'A')
                    || setweight(to_tsvector('fr_unaccent', content), 'B')) STORED)",
        ] {
            diesel::sql_query(statement).execute(&mut conn)?;
        }
        Ok(PostgresFts {
            conn,
            url: url.to_owned(),
        })
    }

    pub fn pool(&self, size: u32) -> Result<PeerPool, BenchError> {
        let pool = Pool::builder()
            .max_size(size)
            .build(ConnectionManager::new(&self.url))?;
        Ok(PeerPool::Postgres(pool))
    }

    /// Bytes of the table and its indexes.
    pub fn size(&mut self) -> Result<u64, BenchError> {
        #[derive(QueryableByName)]
        struct Size {
            #[diesel(sql_type = BigInt)]
            bytes: i64,
        }
        let size: Size =
            diesel::sql_query("SELECT pg_total_relation_size('bench_offers') AS bytes")
                .get_result(&mut self.conn)?;
        Ok(u64::try_from(size.bytes).unwrap_or(0))
    }
}

impl SqliteFts5 {
    /// Creates the tables in a new SQLite file.
    pub fn create(path: &std::path::Path) -> Result<SqliteFts5, BenchError> {
        let mut conn = SqliteConnection::establish(&path.display().to_string())?;
        register_haversine(&mut conn)?;
        for statement in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "CREATE TABLE bench_offers (
                id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, content TEXT NOT NULL,
                created BIGINT NOT NULL, latitude DOUBLE, longitude DOUBLE,
                contract_type TEXT, contract_nature TEXT, experience TEXT NOT NULL,
                qualification TEXT, agency TEXT NOT NULL, department TEXT,
                preselection TEXT NOT NULL, aided TEXT NOT NULL, document TEXT NOT NULL)",
            "CREATE VIRTUAL TABLE bench_fts USING fts5(title, content,
                content = 'bench_offers', content_rowid = 'rowid',
                tokenize = 'unicode61 remove_diacritics 2')",
        ] {
            diesel::sql_query(statement).execute(&mut conn)?;
        }
        Ok(SqliteFts5 {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn pool(&self, size: u32) -> Result<PeerPool, BenchError> {
        let pool = Pool::builder()
            .max_size(size)
            .connection_customizer(Box::new(WithHaversine))
            .build(ConnectionManager::new(self.path.display().to_string()))?;
        Ok(PeerPool::Sqlite(pool))
    }
}

/// How a peer takes the corpus in bulk: rows in batches, then the indexes
/// once, as one loads a table.
pub trait BulkLoad {
    fn insert(&mut self, rows: &[PeerRow]) -> Result<(), BenchError>;
    fn build_indexes(&mut self) -> Result<(), BenchError>;
}

impl BulkLoad for PostgresFts {
    fn insert(&mut self, rows: &[PeerRow]) -> Result<(), BenchError> {
        for batch in rows.chunks(INSERT_BATCH) {
            diesel::insert_into(bench_offers::table)
                .values(batch)
                .execute(&mut self.conn)?;
        }
        Ok(())
    }

    fn build_indexes(&mut self) -> Result<(), BenchError> {
        run_all(
            &mut self.conn,
            after_load(
                "CREATE INDEX bench_search ON bench_offers USING GIN (search)",
                "VACUUM ANALYZE bench_offers",
            ),
        )
    }
}

impl BulkLoad for SqliteFts5 {
    fn insert(&mut self, rows: &[PeerRow]) -> Result<(), BenchError> {
        self.conn.transaction(|conn| {
            for batch in rows.chunks(INSERT_BATCH) {
                diesel::insert_into(bench_offers::table)
                    .values(batch)
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn build_indexes(&mut self) -> Result<(), BenchError> {
        run_all(
            &mut self.conn,
            after_load(
                "INSERT INTO bench_fts (bench_fts) VALUES ('rebuild')",
                "ANALYZE",
            ),
        )
    }
}

fn run_all(
    conn: &mut impl diesel::connection::SimpleConnection,
    statements: Vec<String>,
) -> Result<(), BenchError> {
    for statement in statements {
        conn.batch_execute(&statement)?;
    }
    Ok(())
}

/// What both peers run once the rows are in: their text index (`text`),
/// B-tree indexes on the date, the position and every filter column, then
/// the planner's statistics (`statistics`).
fn after_load(text: &str, statistics: &str) -> Vec<String> {
    let mut statements = vec![
        text.to_owned(),
        "CREATE INDEX bench_created ON bench_offers (created)".to_owned(),
        "CREATE INDEX bench_position ON bench_offers (latitude, longitude)".to_owned(),
    ];
    statements.extend(
        FACET_COLUMNS
            .iter()
            .map(|c| format!("CREATE INDEX bench_{c} ON bench_offers ({c})")),
    );
    statements.push(statistics.to_owned());
    statements
}

impl Engine for PostgresFts {
    fn name(&self) -> &'static str {
        "PostgreSQL FTS"
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Answer, BenchError> {
        search_on(&mut self.conn, Dialect::Postgres, request).map(Answer::from)
    }
}

impl Engine for SqliteFts5 {
    fn name(&self) -> &'static str {
        "SQLite FTS5"
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Answer, BenchError> {
        search_on(&mut self.conn, Dialect::Sqlite, request).map(Answer::from)
    }
}

/// One row of a search's answer: the total (`kind` "total"), a page entry
/// ("page", the id, its position) or a facet value ("f0"…"f7", the value,
/// its count).
#[derive(QueryableByName)]
pub struct Part {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
    /// The offer, on page rows.
    #[diesel(sql_type = Nullable<Text>)]
    document: Option<String>,
}

/// A peer's answer as relais's search gives it: the page's documents (as
/// stored: the load wrote them from JSON, as relais's indexer did), the
/// total, the facets.
fn results_from_parts(parts: Vec<Part>) -> SearchResults {
    let mut total = 0;
    let mut page: Vec<(i64, FoundOffer)> = Vec::new();
    let mut facets: Vec<Vec<(String, u64)>> = vec![Vec::new(); FACETS.len()];
    for part in parts {
        let count = u64::try_from(part.n).unwrap_or(0);
        match (part.kind.as_str(), part.value) {
            ("total", _) => total = count as usize,
            ("page", Some(id)) => {
                if let Some(document) = part.document {
                    page.push((
                        part.n,
                        FoundOffer {
                            id,
                            document: document.into(),
                        },
                    ));
                }
            }
            (facet, Some(value)) => {
                let slot = facet.trim_start_matches('f').parse::<usize>().ok();
                if let Some(values) = slot.and_then(|s| facets.get_mut(s)) {
                    values.push((value, count));
                }
            }
            _ => {}
        }
    }
    page.sort_by_key(|(n, _)| *n);
    SearchResults {
        total,
        offers: page.into_iter().map(|(_, offer)| offer).collect(),
        facets: FACETS
            .iter()
            .zip(facets)
            .map(|(dimension, counts)| Facet::of(dimension.param, counts))
            .collect(),
    }
}

/// One search on a peer's connection.
fn search_on<C>(
    conn: &mut C,
    dialect: Dialect,
    request: &SearchRequest,
) -> Result<SearchResults, BenchError>
where
    C: diesel::connection::LoadConnection,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Part>,
{
    let parts: Vec<Part> = diesel::sql_query(statement(dialect, request)).load(conn)?;
    Ok(results_from_parts(parts))
}

/// A string literal of SQL (both dialects double the quote).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The whole search as one statement.
fn statement(dialect: Dialect, request: &SearchRequest) -> String {
    let (phrases, words): (Vec<&Keyword>, Vec<&Keyword>) = request
        .keywords
        .iter()
        .partition(|k| matches!(k, Keyword::Phrase(_)));
    let (from, rank) = match (dialect, request.keywords.is_empty()) {
        (Dialect::Postgres, false) => {
            // All the words in one query, each phrase in its own (stop
            // words keep their gaps, as in relais), all of them required.
            let words: Vec<&str> = words.iter().map(|k| k.text()).collect();
            let mut queries: Vec<String> = Vec::new();
            if !words.is_empty() {
                queries.push(format!(
                    "plainto_tsquery('fr_unaccent', {})",
                    literal(&words.join(" "))
                ));
            }
            queries.extend(phrases.iter().map(|phrase| {
                format!(
                    "phraseto_tsquery('fr_unaccent', {})",
                    literal(phrase.text())
                )
            }));
            (
                format!(
                    "bench_offers o, (SELECT {} AS q) k WHERE o.search @@ k.q",
                    queries.join(" && ")
                ),
                // Higher is better: negated, so that every order is ascending.
                "-ts_rank_cd(o.search, k.q)".to_owned(),
            )
        }
        (Dialect::Sqlite, false) => {
            // A quoted string is an FTS5 phrase: each word alone, each
            // phrase whole.
            let terms: Vec<String> = words
                .iter()
                .flat_map(|k| k.text().split_whitespace())
                .chain(phrases.iter().map(|k| k.text()))
                .map(|text| format!("\"{}\"", text.replace('"', "")))
                .collect();
            (
                format!(
                    "bench_fts JOIN bench_offers o ON o.rowid = bench_fts.rowid WHERE bench_fts MATCH {}",
                    literal(&terms.join(" "))
                ),
                "bm25(bench_fts, 2.0, 1.0)".to_owned(),
            )
        }
        (_, true) => ("bench_offers o WHERE 1 = 1".to_owned(), "0".to_owned()),
    };
    let mut conditions = String::new();
    if let Some(from) = request.created_from {
        conditions.push_str(&format!(" AND o.created >= {from}"));
    }
    if let Some(to) = request.created_to {
        conditions.push_str(&format!(" AND o.created <= {to}"));
    }
    // Distance to the nearest origin, with a bounding box (1 % wider than
    // the circle) that the B-tree index can use.
    let distance = nearest_distance(dialect, &request.origins);
    if let (Some(radius), false) = (request.radius_km, request.origins.is_empty()) {
        let boxes: Vec<String> = request
            .origins
            .iter()
            .map(|(lat, lon)| {
                let dlat = 1.01 * radius / KM_PER_DEGREE;
                let dlon = 1.01 * radius / (KM_PER_DEGREE * lat.to_radians().cos());
                format!(
                    "(o.latitude BETWEEN {} AND {} AND o.longitude BETWEEN {} AND {})",
                    lat - dlat,
                    lat + dlat,
                    lon - dlon,
                    lon + dlon
                )
            })
            .collect();
        conditions.push_str(&format!(
            " AND ({}) AND {distance} <= {radius}",
            boxes.join(" OR ")
        ));
    }
    // The workload filters on facets only (see `workload`).
    let facet_filters: Vec<(usize, String)> = request
        .filters
        .iter()
        .filter_map(|(dimension, values)| {
            let slot = dimension.facet?;
            let list: Vec<String> = values.iter().map(|v| literal(v)).collect();
            Some((
                slot,
                format!("{} IN ({})", FACET_COLUMNS[slot], list.join(", ")),
            ))
        })
        .collect();
    let passing = |except: Option<usize>| -> String {
        let kept: Vec<&str> = facet_filters
            .iter()
            .filter(|(slot, _)| Some(*slot) != except)
            .map(|(_, c)| c.as_str())
            .collect();
        if kept.is_empty() {
            "1 = 1".to_owned()
        } else {
            kept.join(" AND ")
        }
    };
    // The same order as relais: its primary key, then newest, then id.
    let order = |of: &str| match request.sort {
        Sort::Relevance => format!("{of}rank, {of}created DESC, {of}id"),
        Sort::Newest => format!("{of}created DESC, {of}id"),
        Sort::Nearest => format!("{of}distance, {of}created DESC, {of}id"),
    };
    let limit = request.end + 1 - request.start;
    let mut parts = vec![
        format!(
            "SELECT 'total' AS kind, CAST(NULL AS TEXT) AS value, COUNT(*) AS n, CAST(NULL AS TEXT) AS document \
             FROM matching WHERE {}",
            passing(None)
        ),
        format!(
            "SELECT 'page', page.id, ROW_NUMBER() OVER (ORDER BY {}), d.document \
             FROM (SELECT id, created, rank, distance FROM matching WHERE {} ORDER BY {} LIMIT {limit} OFFSET {}) page \
             JOIN bench_offers d ON d.id = page.id",
            order("page."),
            passing(None),
            order(""),
            request.start
        ),
    ];
    for (slot, column) in FACET_COLUMNS.iter().enumerate() {
        parts.push(format!(
            "SELECT 'f{slot}', {column}, COUNT(*), NULL FROM matching WHERE {} AND {column} IS NOT NULL GROUP BY {column}",
            passing(Some(slot))
        ));
    }
    let columns = FACET_COLUMNS.join(", ");
    format!(
        "WITH matching AS MATERIALIZED (SELECT o.id, o.created, {columns}, {rank} AS rank, {distance} AS distance \
         FROM {from}{conditions}) {}",
        parts.join(" UNION ALL ")
    )
}

/// SQL for the distance in km from the offer to the nearest origin.
fn nearest_distance(dialect: Dialect, origins: &[(f64, f64)]) -> String {
    let each: Vec<String> = origins
        .iter()
        .map(|(lat, lon)| format!("haversine_km(o.latitude, o.longitude, {lat}, {lon})"))
        .collect();
    let least = match dialect {
        Dialect::Postgres => "LEAST",
        Dialect::Sqlite => "MIN",
    };
    match each.len() {
        0 => "0".to_owned(),
        1 => each[0].clone(),
        _ => format!("{least}({})", each.join(", ")),
    }
}
