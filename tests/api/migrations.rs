//! The two migration sets must describe the same database.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::helpers::{PostgresDatabase, test_settings};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

fn folder_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_sets_have_the_same_migrations() {
    let sqlite = folder_names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, folder_names("postgres"));
}

#[tokio::test]
async fn both_sets_produce_the_same_tables_and_columns() {
    let Some(postgres) = PostgresDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_path = dir.path().join("schema.db");
    for url in [sqlite_path.display().to_string(), postgres.url.clone()] {
        let settings = test_settings(&dir, url);
        relais::db::Database::open(&settings.database).unwrap();
    }

    let mut sqlite = SqliteConnection::establish(&sqlite_path.display().to_string()).unwrap();
    let sqlite_columns: BTreeSet<Column> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, \
                (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
           AND m.name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(&mut sqlite)
    .unwrap()
    .into_iter()
    .collect();

    let mut pg = PgConnection::establish(&postgres.url).unwrap();
    let postgres_columns: BTreeSet<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(&mut pg)
    .unwrap()
    .into_iter()
    .collect();

    assert!(sqlite_columns.iter().any(|c| c.table_name == "agencies"));
    assert_eq!(sqlite_columns, postgres_columns);
}
