//! The benchmark harness at a tiny size: it runs end to end, and the three
//! systems agree exactly where analyzers play no part. (Speed is for
//! `relais bench` itself, never asserted here.)

use relais::bench::{self, workload::QueryClass};

#[test]
fn the_three_systems_agree_on_searches_without_keywords() {
    let Ok(postgres_url) = std::env::var("RELAIS_TEST_POSTGRES_URL") else {
        eprintln!(
            "bench test skipped: RELAIS_TEST_POSTGRES_URL is not set (PostgreSQL FTS is one of the systems)"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let options = bench::Options {
        offers: 600,
        seed: 7,
        queries_per_class: 12,
        // The peers answer a sample, as in the 1,000,000-offer run.
        peer_queries_per_class: 5,
        peer_budget_per_class: std::time::Duration::ZERO,
        postgres_url,
        work_dir: work.path().join("bench"),
        // The load tool is the CI's business (`.ci/run`); freshness is in-process.
        http_seconds: 0,
        freshness_seconds: 1,
    };
    let report = bench::run(&options, &|_| {}).unwrap();

    let systems: Vec<&str> = report.latencies.iter().map(|l| l.system).collect();
    assert_eq!(systems, ["relais", "PostgreSQL FTS", "SQLite FTS5"]);
    for latencies in &report.latencies {
        for class in QueryClass::ALL {
            assert!(
                latencies.quantile(class, 0.99).is_some(),
                "{} answered {}",
                latencies.system,
                class.label()
            );
        }
    }
    for agreement in &report.agreement {
        assert_eq!(
            agreement.disagreements(QueryClass::FiltersOnly),
            0,
            "{}",
            agreement.peer
        );
    }
    // tantivy's own collectors count the matches of relais's pass.
    let markdown = report.markdown("2026-11-29", "test");
    let engine_alone = markdown
        .split("## The engine alone")
        .nth(1)
        .and_then(|section| section.split("## Bulk load").next())
        .expect("the report has a section on the engine alone");
    for class in QueryClass::ALL {
        // The other classes are relais's whole search in both passes: equal
        // by construction, so not asserted.
        if class.ranked_by_keywords_alone() {
            assert_eq!(
                report.engine_alone.agreement.different_totals(class),
                0,
                "{}",
                class.label()
            );
        }
        let row = engine_alone
            .lines()
            .find(|line| line.starts_with(&format!("| {} |", class.label())));
        assert_eq!(
            row.is_some_and(|row| row.contains(" | 12/12 | ")),
            class.ranked_by_keywords_alone(),
            "{}: {row:?}",
            class.label()
        );
    }
    // Every change of the writer (one second at 50 a second) showed in search.
    assert_eq!(report.freshness.changes(), 50);
    assert!(
        markdown.contains("| filters only, all facets | PostgreSQL FTS | 5/5 | 5/5 |"),
        "{markdown}"
    );
    // The report says which queries the peers answered.
    assert!(
        markdown.contains(
            "The peers answer the first 5 of each class (`--peer-queries 5`): \
             at this size they take up to seconds a query."
        ) && markdown.contains("; three keywords: 5; "),
        "{markdown}"
    );
    assert!(report.chart_svg().starts_with("<svg"));
}
