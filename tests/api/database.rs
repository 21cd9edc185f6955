//! The connection bulk loads write through.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use relais::db::{Database, DbConnection};

use crate::helpers::{PostgresDatabase, test_settings};

#[derive(QueryableByName)]
struct PlanCacheMode {
    #[diesel(sql_type = Text)]
    plan_cache_mode: String,
}

fn plan_cache_mode(conn: &mut DbConnection) -> String {
    let DbConnection::Postgres(conn) = conn else {
        panic!("a PostgreSQL URL gave a SQLite connection");
    };
    diesel::sql_query("SHOW plan_cache_mode")
        .get_result::<PlanCacheMode>(conn)
        .unwrap()
        .plan_cache_mode
}

#[test]
fn a_postgres_bulk_load_plans_each_statement_for_the_table_as_it_is() {
    let Some(postgres) = PostgresDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = Database::open(&test_settings(&dir, postgres.url.clone()).database).unwrap();

    let mut bulk = database.bulk_connection().unwrap();
    assert_eq!(plan_cache_mode(&mut bulk), "force_custom_plan");
    // The pool keeps PostgreSQL's default: its statements are small and
    // many, and planning each again would cost more than it saves.
    assert_eq!(plan_cache_mode(&mut database.connection().unwrap()), "auto");
}
