//! The database: one connection type over SQLite and PostgreSQL, the pool,
//! the embedded migrations and the readiness check.
//!
//! Backend-specific SQL lives here, in explicit `match`es, and nowhere else.

pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sql_types::{Nullable, Text};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use serde::Serialize;

use crate::config::{DatabaseSettings, ensure_parent_dir};

// Lower case in SQL, for the addresses of accounts, which RGCs and
// providers write in any case (see `accounts::address_key`).
diesel::define_sql_function!(fn lower(text: Nullable<Text>) -> Nullable<Text>);

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a readiness probe waits for a connection: a probe must answer
/// quickly even while the database is down.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Key of the PostgreSQL advisory lock that serialises migrations when
/// several nodes start at once.
const MIGRATION_LOCK_KEY: i64 = 0x7265_6c61_6973;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("connexion à la base de données impossible : {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("aucune connexion à la base de données disponible : {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("requête refusée par la base de données : {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations : {0}")]
    Migration(String),
    #[error("dossier de la base de données : {0}")]
    Io(#[from] std::io::Error),
    #[error("la tâche d'accès à la base de données a été interrompue")]
    Interrupted,
}

/// What a database URL points at.
#[derive(Debug, Clone)]
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> Target {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Target::Postgres(url.to_owned())
        } else {
            Target::Sqlite(PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url)))
        }
    }
}

/// Page cache of a bulk-writing SQLite connection, in KiB: the id index of
/// a million offers (about 25 MB) with room to spare.
const BULK_CACHE_KIB: u32 = 64 * 1024;

/// Opens connections of the backend the URL names, never another one: a
/// PostgreSQL URL that fails must not fall back to creating a SQLite file.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: Target,
    sqlite_busy_timeout_ms: u32,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            Target::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // The busy timeout comes first: the journal mode pragma needs
                // a lock, and while another process (a server restarting on
                // the same file) closes its last connection and checkpoints,
                // it would otherwise fail at once with "database is locked".
                // WAL lets readers work during a write. FULL syncs the log at
                // every commit: with NORMAL, a power cut or a system crash
                // could lose the last commits, a request already confirmed
                // to its coach among them. Bulk loads commit 5,000 offers at
                // a time, so the cost is one sync per page action.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA synchronous = FULL;",
                    self.sqlite_busy_timeout_ms
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// A connection from `manager`, its failure as a database error.
fn connect(manager: &ConnectionManager) -> Result<DbConnection, DbError> {
    manager.connect().map_err(|e| match e {
        r2d2::Error::ConnectionError(e) => DbError::Connection(e),
        r2d2::Error::QueryError(e) => DbError::Query(e),
    })
}

pub type PooledDbConnection = PooledConnection<ConnectionManager>;

/// The pool and what is needed to tell whether the database is usable.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    /// How the pool opens connections, for those opened outside it.
    manager: ConnectionManager,
    backend: Backend,
    /// SQLite: the file opened at start, to notice it being moved or replaced
    /// under a running server (its writes would go to a file nobody sees).
    sqlite_file: Option<(PathBuf, FileIdentity)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> std::io::Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path)?;
        Ok(FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }
}

/// Held while something runs alone (see `Database::exclusive`).
pub struct Exclusive {
    /// On PostgreSQL, the connection that holds the lock, and its key.
    held: Option<(DbConnection, i64)>,
}

impl Drop for Exclusive {
    /// Releases the lock before the connection closes: a closing connection
    /// releases it too, but only once the server has seen it go, and a run
    /// started just after would find it still taken.
    fn drop(&mut self) {
        if let Some((conn, key)) = &mut self.held
            && let Err(error) = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(*key)
                .execute(conn)
        {
            tracing::warn!(%error, "advisory lock left to the closing connection");
        }
    }
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    taken: bool,
}

/// Answer of the readiness probe: each check is "ok" or says what is wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub checks: BTreeMap<&'static str, String>,
}

impl Database {
    /// A migrated SQLite database in `folder`, for unit tests.
    #[cfg(test)]
    pub fn in_folder(folder: &Path) -> Database {
        Database::open(&DatabaseSettings {
            url: folder.join("relais.db").display().to_string(),
            pool_size: std::num::NonZeroU32::MIN,
            connect_timeout_secs: std::num::NonZeroU32::MIN,
            sqlite_busy_timeout_ms: 5000,
        })
        .expect("a SQLite database in a temporary folder")
    }

    /// Applies pending migrations on a first connection, then builds the pool.
    pub fn open(settings: &DatabaseSettings) -> Result<Database, DbError> {
        let target = Target::parse(&settings.url);
        if let Target::Sqlite(path) = &target {
            ensure_parent_dir(path)?;
        }
        let manager = ConnectionManager {
            target: target.clone(),
            sqlite_busy_timeout_ms: settings.sqlite_busy_timeout_ms,
        };
        let mut first = connect(&manager)?;
        let applied = run_migrations(&mut first)?;
        if applied > 0 {
            tracing::info!(migrations_applied = applied, "database migrated");
        }
        let sqlite_file = match &target {
            Target::Sqlite(path) => Some((path.clone(), FileIdentity::of(path)?)),
            Target::Postgres(_) => None,
        };
        let pool = Pool::builder()
            .max_size(settings.pool_size.get())
            // A PostgreSQL connection can die with its server, so it is tried
            // before use; an SQLite file does not go away, and trying it
            // (a statement prepared and run) was a tenth of a search's cost.
            .test_on_check_out(matches!(target, Target::Postgres(_)))
            .connection_timeout(Duration::from_secs(
                settings.connect_timeout_secs.get().into(),
            ))
            .build(manager.clone())?;
        let backend = match target {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        };
        Ok(Database {
            pool,
            manager,
            backend,
            sqlite_file,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The right to run something alone among the nodes sharing this
    /// database, held until dropped, or `None` while another holds it. On
    /// PostgreSQL, an advisory lock on a connection of its own, released when
    /// dropped, or by the connection closing if the process dies. An SQLite
    /// file serves one node: nothing to take.
    pub fn exclusive(&self, key: i64) -> Result<Option<Exclusive>, DbError> {
        let Target::Postgres(_) = &self.manager.target else {
            return Ok(Some(Exclusive { held: None }));
        };
        let mut conn = connect(&self.manager)?;
        let lock: Taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .get_result(&mut conn)?;
        Ok(lock.taken.then_some(Exclusive {
            held: Some((conn, key)),
        }))
    }

    /// A pooled connection, for command-line work and tests.
    pub fn connection(&self) -> Result<PooledDbConnection, DbError> {
        Ok(self.pool.get()?)
    }

    /// A connection of its own, outside the pool, for a bulk write (import,
    /// demo data, benchmark), closed with its memory when dropped.
    pub fn bulk_connection(&self) -> Result<DbConnection, DbError> {
        let mut conn = connect(&self.manager)?;
        match &mut conn {
            // A bigger page cache: the offers' id index is written at random
            // places, and past a few hundred thousand offers it no longer
            // fits the default 2 MB, so each batch read its pages back from
            // the file (importing a million offers: kernel time 25 s → 13–16
            // s, 67 s on average over six runs instead of 72).
            // Pooled connections keep the default, or eight of them would
            // hold 512 MB.
            DbConnection::Sqlite(sqlite) => {
                sqlite.batch_execute(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))?
            }
            // A load may start on an empty table and grow it a hundredfold
            // on this one connection: the plan PostgreSQL keeps for a
            // statement prepared while the table was empty (reading it all
            // to find the offers already there) must not serve the rest of
            // the load. It did: 100,000 offers took 95 s instead of 9.
            DbConnection::Postgres(postgres) => {
                postgres.batch_execute("SET plan_cache_mode = force_custom_plan")?
            }
        }
        Ok(conn)
    }

    /// Runs database work on the blocking pool, inside the caller's span, so
    /// that the async workers never wait on the database.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(DbError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| DbError::Interrupted)?
    }

    /// Connections in the pool: (open, idle).
    pub fn pool_usage(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    pub fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Whether the database answers, is the one opened at start, and has
    /// every migration this binary knows.
    pub async fn readiness(&self) -> Readiness {
        let database = self.clone();
        let outcome = tokio::task::spawn_blocking(move || database.check_readiness()).await;
        outcome.unwrap_or_else(|_| Readiness::failed("la vérification a été interrompue".into()))
    }

    fn check_readiness(&self) -> Readiness {
        if let Some((path, opened)) = &self.sqlite_file {
            match FileIdentity::of(path) {
                Ok(current) if current == *opened => {}
                Ok(_) => {
                    return Readiness::failed(format!(
                        "le fichier {} a été remplacé depuis le démarrage",
                        path.display()
                    ));
                }
                Err(e) => {
                    return Readiness::failed(format!(
                        "le fichier {} est inaccessible : {e}",
                        path.display()
                    ));
                }
            }
        }
        let mut conn = match self.pool.get_timeout(READINESS_TIMEOUT) {
            Ok(conn) => conn,
            Err(e) => return Readiness::failed(format!("injoignable : {e}")),
        };
        let migrations = match pending_migrations(&mut conn) {
            Ok(0) => "ok".to_owned(),
            Ok(n) => format!("{n} migration(s) en attente"),
            Err(e) => return Readiness::failed(format!("erreur : {e}")),
        };
        let ready = migrations == "ok";
        Readiness {
            ready,
            checks: BTreeMap::from([("database", "ok".to_owned()), ("migrations", migrations)]),
        }
    }
}

impl Readiness {
    fn failed(database: String) -> Readiness {
        Readiness {
            ready: false,
            checks: BTreeMap::from([
                ("database", database),
                ("migrations", "non vérifiées".to_owned()),
            ]),
        }
    }
}

fn migration_error(e: Box<dyn std::error::Error + Send + Sync>) -> DbError {
    DbError::Migration(e.to_string())
}

/// Applies the migrations of the connection's backend; returns how many ran.
fn run_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    match conn {
        DbConnection::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|done| done.len())
            .map_err(migration_error),
        DbConnection::Postgres(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|done| done.len())
                .map_err(migration_error);
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result
        }
    }
}

fn pending_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    match conn {
        DbConnection::Sqlite(conn) => conn.pending_migrations(SQLITE_MIGRATIONS).map(|p| p.len()),
        DbConnection::Postgres(conn) => conn
            .pending_migrations(POSTGRES_MIGRATIONS)
            .map(|p| p.len()),
    }
    .map_err(migration_error)
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::offers::store::take_sequences;

    #[derive(QueryableByName)]
    struct CacheSize {
        #[diesel(sql_type = BigInt)]
        cache_size: i64,
    }

    fn cache_size(conn: &mut SqliteConnection) -> i64 {
        diesel::sql_query("PRAGMA cache_size")
            .get_result::<CacheSize>(conn)
            .unwrap()
            .cache_size
    }

    fn sqlite(conn: &mut DbConnection) -> &mut SqliteConnection {
        match conn {
            DbConnection::Sqlite(conn) => conn,
            DbConnection::Postgres(_) => panic!("a SQLite URL gave a PostgreSQL connection"),
        }
    }

    #[test]
    fn only_a_bulk_connection_gets_the_big_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.db").display().to_string();
        let database = Database::open(&DatabaseSettings {
            url: path.clone(),
            pool_size: std::num::NonZeroU32::MIN,
            connect_timeout_secs: std::num::NonZeroU32::MIN,
            sqlite_busy_timeout_ms: 5000,
        })
        .unwrap();
        let default = cache_size(&mut SqliteConnection::establish(&path).unwrap());

        let mut bulk = database.bulk_connection().unwrap();
        assert_eq!(cache_size(sqlite(&mut bulk)), -i64::from(BULK_CACHE_KIB));
        assert_ne!(-i64::from(BULK_CACHE_KIB), default);
        // Outside the pool: its only connection is still there to take, and
        // it kept the default cache.
        let mut pooled = database.connection().unwrap();
        assert_eq!(cache_size(sqlite(&mut pooled)), default);
        // Both work on the same database.
        assert_eq!(take_sequences(&mut bulk, 7).unwrap(), 1);
        assert_eq!(take_sequences(&mut pooled, 1).unwrap(), 8);
    }
}
