//! The figures of a run, the Markdown report and its chart (hand-written
//! SVG: a few bars need no plotting library).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::Answer;
use super::freshness::{self, Freshness};
use super::http::HttpFigures;
use super::workload::QueryClass;
use crate::search::params::SearchRequest;

/// How many of the first ids are compared between systems.
const TOP: usize = 20;

pub struct LoadFigure {
    pub system: String,
    pub offers: usize,
    pub duration: Duration,
    pub bytes: Option<u64>,
    pub detail: String,
}

/// Latencies of one system, by class.
pub struct Latencies {
    pub system: &'static str,
    by_class: HashMap<QueryClass, Vec<Duration>>,
}

impl Latencies {
    pub fn new(system: &'static str) -> Latencies {
        Latencies {
            system,
            by_class: HashMap::new(),
        }
    }

    pub fn add(&mut self, class: QueryClass, duration: Duration) {
        self.by_class.entry(class).or_default().push(duration);
    }

    /// The times of requests, by their class.
    pub fn of(
        system: &'static str,
        requests: &[(QueryClass, SearchRequest)],
        times: &[Duration],
    ) -> Latencies {
        let mut latencies = Latencies::new(system);
        for ((class, _), time) in requests.iter().zip(times) {
            latencies.add(*class, *time);
        }
        latencies
    }

    /// How many requests of a class were timed.
    pub fn count(&self, class: QueryClass) -> usize {
        self.by_class.get(&class).map_or(0, Vec::len)
    }

    /// The `q` quantile of a class.
    pub fn quantile(&self, class: QueryClass, q: f64) -> Option<Duration> {
        let mut values = self.by_class.get(&class)?.clone();
        values.sort();
        nearest_rank(&values, q)
    }
}

/// The `q` quantile (0 < q ≤ 1) of sorted durations, by the nearest-rank
/// method; `None` when there are none.
pub fn nearest_rank(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// How far a peer's answers agree with relais's, by class.
pub struct Agreement {
    pub peer: &'static str,
    /// (queries, equal totals, equal facets, summed top-20 overlap) by class.
    by_class: HashMap<QueryClass, (usize, usize, usize, f64)>,
}

impl Agreement {
    pub fn compare(
        peer: &'static str,
        requests: &[(QueryClass, SearchRequest)],
        relais: &[Answer],
        theirs: &[Answer],
    ) -> Agreement {
        let mut by_class: HashMap<QueryClass, (usize, usize, usize, f64)> = HashMap::new();
        for (((class, _), ours), theirs) in requests.iter().zip(relais).zip(theirs) {
            let entry = by_class.entry(*class).or_default();
            entry.0 += 1;
            entry.1 += usize::from(ours.total == theirs.total);
            entry.2 += usize::from(ours.facets == theirs.facets);
            entry.3 += overlap(&ours.ids, &theirs.ids);
        }
        Agreement { peer, by_class }
    }

    /// Queries of a class whose totals differ from relais's.
    pub fn different_totals(&self, class: QueryClass) -> usize {
        self.by_class
            .get(&class)
            .map_or(0, |(n, totals, _, _)| n - totals)
    }

    /// Queries of a class whose totals or facets differ from relais's.
    pub fn disagreements(&self, class: QueryClass) -> usize {
        self.by_class
            .get(&class)
            .map_or(0, |(n, totals, facets, _)| (n - totals).max(n - facets))
    }
}

/// Share of the first ids that both lists hold (1 when both are empty).
fn overlap(ours: &[String], theirs: &[String]) -> f64 {
    let ours: Vec<&String> = ours.iter().take(TOP).collect();
    let theirs: Vec<&String> = theirs.iter().take(TOP).collect();
    let largest = ours.len().max(theirs.len());
    if largest == 0 {
        return 1.0;
    }
    let shared = ours.iter().filter(|id| theirs.contains(id)).count();
    shared as f64 / largest as f64
}

/// relais's keyword ranking answered by tantivy's own collectors, without
/// relais's pass over the matches (`query::engine_alone`): what relais
/// would take if it added nothing to them.
pub struct EngineAloneFigures {
    /// Every query (the classes it does not answer alone are relais's).
    pub latencies: Latencies,
    /// On the peers' sample: ratios compare the same queries.
    pub on_sample: Latencies,
    /// Against relais: the same matches, so the same totals.
    pub agreement: Agreement,
}

pub struct Report {
    pub offers: usize,
    pub seed: u64,
    pub queries_per_class: usize,
    /// The peers answered at least the first this many of each class…
    pub peer_queries_per_class: usize,
    /// …and the next ones while `sampling_peer`'s untimed pass on the class
    /// had taken less than this.
    pub peer_budget_per_class: Duration,
    pub sampling_peer: &'static str,
    pub loads: Vec<LoadFigure>,
    /// relais first (every query), then the peers (their sample).
    pub latencies: Vec<Latencies>,
    /// relais on the peers' sample: ratios compare the same queries.
    pub relais_on_sample: Latencies,
    pub engine_alone: EngineAloneFigures,
    pub agreement: Vec<Agreement>,
    pub freshness: Freshness,
    /// `None` when the run left HTTP out.
    pub http: Option<HttpFigures>,
}

fn ms(duration: Option<Duration>) -> String {
    duration.map_or("—".into(), |d| format!("{:.2}", d.as_secs_f64() * 1000.0))
}

/// "12.3×", or a dash when there is no ratio.
pub fn times(ratio: Option<f64>) -> String {
    ratio.map_or("—".to_owned(), |r| format!("{r:.1}×"))
}

fn ratio(peer: Option<Duration>, relais: Option<Duration>) -> Option<f64> {
    let (peer, relais) = (peer?.as_secs_f64(), relais?.as_secs_f64());
    (relais > 0.0).then(|| peer / relais)
}

pub fn bytes(count: u64) -> String {
    let mb = count as f64 / 1_048_576.0;
    format!("{mb:.1} Mo")
}

impl Report {
    /// p50 ratios peer / relais for a class (how many times relais is faster).
    pub fn speedups(&self, class: QueryClass) -> Vec<(&'static str, Option<f64>)> {
        self.speedups_of(&self.relais_on_sample, class)
    }

    /// p50 ratios peer / `ours` for a class, on the peers' sample.
    fn speedups_of(&self, ours: &Latencies, class: QueryClass) -> Vec<(&'static str, Option<f64>)> {
        let ours = ours.quantile(class, 0.5);
        self.latencies[1..]
            .iter()
            .map(|peer| (peer.system, ratio(peer.quantile(class, 0.5), ours)))
            .collect()
    }

    /// What must hold even at a tiny size, whatever the machine: systems
    /// agree exactly where analyzers play no part, and relais is ahead where
    /// it is by several times even on 2,000 offers (a single common keyword
    /// is too close there to call on a shared machine); relais counts the
    /// matches the engine alone counts; the server answers every request
    /// under load. Returns the failures.
    pub fn check(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for class in QueryClass::ALL
            .into_iter()
            .filter(|class| class.ranked_by_keywords_alone())
        {
            let wrong = self.engine_alone.agreement.different_totals(class);
            if wrong > 0 {
                failures.push(format!(
                    "{} : {wrong} requête(s) dont le total de relais diffère de celui du moteur seul",
                    class.label()
                ));
            }
        }
        for agreement in &self.agreement {
            let wrong = agreement.disagreements(QueryClass::FiltersOnly);
            if wrong > 0 {
                failures.push(format!(
                    "{} : {wrong} requête(s) « filtres seuls » dont le total ou les facettes diffèrent de relais",
                    agreement.peer
                ));
            }
        }
        for class in [
            QueryClass::ThreeKeywords,
            QueryClass::Phrase,
            QueryClass::KeywordsAndFilters,
            QueryClass::FiltersOnly,
        ] {
            for (peer, speedup) in self.speedups(class) {
                if speedup.is_none_or(|s| s < 1.0) {
                    failures.push(format!(
                        "{} : relais n'est pas plus rapide que {peer} (p50, rapport {:?})",
                        class.label(),
                        speedup
                    ));
                }
            }
        }
        for run in self.http.iter().flat_map(|http| &http.runs) {
            if run.failures > 0 {
                failures.push(format!(
                    "HTTP, {} ({}, {} connexions) : {} requête(s) en échec",
                    run.system, run.workload, run.connections, run.failures
                ));
            }
        }
        failures
    }

    /// How many queries of a class the peers answered (their latencies
    /// hold those).
    fn answered(&self, class: QueryClass) -> usize {
        self.latencies.get(1).map_or(0, |peer| peer.count(class))
    }

    /// Whether the peers answered only some of the queries.
    fn peers_sampled(&self) -> bool {
        QueryClass::ALL
            .iter()
            .any(|&class| self.answered(class) < self.latencies[0].count(class))
    }

    pub fn markdown(&self, date: &str, machine: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# relais search against PostgreSQL FTS and SQLite FTS5\n"
        );
        let _ = writeln!(
            out,
            "Measured {date} on {machine}, in one run (`relais bench --offers {} --seed {}`): \
             {} generated offers, {} queries per class, each system answering the same parsed \
             queries with the page (top 20), the total and all 8 facets. In-process, one thread; \
             one warm-up pass, then one timed pass.\n",
            self.offers, self.seed, self.offers, self.queries_per_class
        );
        if self.peers_sampled() {
            let least = self.peer_queries_per_class;
            let budget = self.peer_budget_per_class.as_secs();
            let chosen = if budget == 0 {
                format!("the first {least} of each class (`--peer-queries {least}`)")
            } else {
                format!(
                    "at least the first {least} of each class, then the next ones while \
                     {}'s untimed pass on the class had taken under {budget} s \
                     (`--peer-queries {least} --peer-secs {budget}`)",
                    self.sampling_peer
                )
            };
            let counts: Vec<String> = QueryClass::ALL
                .iter()
                .map(|&class| format!("{}: {}", class.label(), self.answered(class)))
                .collect();
            let _ = writeln!(
                out,
                "The peers answer {chosen}: at this size they take up to seconds a query. \
                 relais's columns are over every query; the ratios and the agreement compare \
                 the same queries. Queries the peers answered, by class: {}.\n",
                counts.join("; ")
            );
        }
        let _ = writeln!(out, "![p50 latency by class](chart.svg)\n");
        let _ = writeln!(out, "## Latency (ms)\n");
        let mut header = "| class |".to_owned();
        let mut rule = "|---|".to_owned();
        for latencies in &self.latencies {
            let _ = write!(header, " {0} p50 | {0} p95 | {0} p99 |", latencies.system);
            rule.push_str("---:|---:|---:|");
        }
        for peer in &self.latencies[1..] {
            let _ = write!(header, " {} / relais (p50) |", peer.system);
            rule.push_str("---:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for class in QueryClass::ALL {
            let mut line = format!("| {} |", class.label());
            for latencies in &self.latencies {
                for q in [0.5, 0.95, 0.99] {
                    let _ = write!(line, " {} |", ms(latencies.quantile(class, q)));
                }
            }
            for (_, speedup) in self.speedups(class) {
                let _ = write!(line, " {} |", times(speedup));
            }
            let _ = writeln!(out, "{line}");
        }
        self.engine_alone_markdown(&mut out);
        let _ = writeln!(out, "\n## Bulk load\n");
        let _ = writeln!(
            out,
            "| system | offers/s | on disk | |\n|---|---:|---:|---|"
        );
        for load in &self.loads {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {} |",
                load.system,
                load.offers as f64 / load.duration.as_secs_f64().max(1e-9),
                load.bytes.map_or("—".into(), bytes),
                load.detail
            );
        }
        let _ = writeln!(out, "\n## Do the answers agree?\n");
        let _ = writeln!(
            out,
            "Against relais, per class: queries with the same total, with the same facet counts, \
             and the mean share of the top {TOP} ids both return. Analyzers differ (relais and \
             PostgreSQL stem French and drop stop words; FTS5's `unicode61` does neither), so \
             keyword classes overlap rather than match; without keywords, totals and facets must \
             be equal.\n"
        );
        let _ = writeln!(
            out,
            "| class | peer | same total | same facets | top-{TOP} overlap |\n|---|---|---:|---:|---:|"
        );
        for class in QueryClass::ALL {
            for agreement in &self.agreement {
                if let Some((n, totals, facets, overlap)) = agreement.by_class.get(&class) {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {totals}/{n} | {facets}/{n} | {:.0} % |",
                        class.label(),
                        agreement.peer,
                        100.0 * overlap / (*n).max(1) as f64
                    );
                }
            }
        }
        self.freshness_markdown(&mut out);
        self.http_markdown(&mut out);
        out
    }

    fn engine_alone_markdown(&self, out: &mut String) {
        let alone = &self.engine_alone;
        let _ = writeln!(out, "\n## The engine alone\n");
        let _ = writeln!(
            out,
            "For the classes that are keywords ranked by relevance and nothing else: relais's \
             ranking query answered by tantivy's standard collectors in one pass (every match \
             scored for the page and counted for the total) and the page's stored offers read \
             as relais reads them, without relais's own pass over the matches (facets, order of \
             ties), in the same stream of queries: what relais would take if it added nothing \
             to them. The same matches give the same totals; ties in score may order the page \
             differently.{}\n",
            if self.peers_sampled() {
                " As above, the latencies are over every query, the ratios over the peers' sample."
            } else {
                ""
            }
        );
        let mut header = format!(
            "| class | relais p50 | {0} p50 | {0} p99 | same total | top-{TOP} overlap |",
            alone.latencies.system
        );
        let mut rule = "|---|---:|---:|---:|---:|---:|".to_owned();
        for peer in &self.latencies[1..] {
            let _ = write!(
                header,
                " {} / {} (p50) |",
                peer.system, alone.latencies.system
            );
            rule.push_str("---:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for class in QueryClass::ALL
            .into_iter()
            .filter(|class| class.ranked_by_keywords_alone())
        {
            let Some((n, totals, _, overlap)) = alone.agreement.by_class.get(&class) else {
                continue;
            };
            let mut line = format!(
                "| {} | {} | {} | {} | {totals}/{n} | {:.0} % |",
                class.label(),
                ms(self.latencies[0].quantile(class, 0.5)),
                ms(alone.latencies.quantile(class, 0.5)),
                ms(alone.latencies.quantile(class, 0.99)),
                100.0 * overlap / (*n).max(1) as f64
            );
            for (_, speedup) in self.speedups_of(&alone.on_sample, class) {
                let _ = write!(line, " {} |", times(speedup));
            }
            let _ = writeln!(out, "{line}");
        }
    }

    fn freshness_markdown(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Update to visible\n");
        let _ = writeln!(
            out,
            "A writer renames or suspends {} offers a second through relais's write paths \
             (ingest, status) and wakes the indexer as the API does; a reader searches for each \
             change when it is written and after every commit until it shows (a renamed offer \
             found by its new word, a suspended one gone).\n",
            freshness::CHANGES_PER_SECOND
        );
        let _ = writeln!(
            out,
            "| changes | p50 (ms) | p99 (ms) | max (ms) |\n|---:|---:|---:|---:|\n| {} | {} | {} | {} |",
            self.freshness.changes(),
            ms(self.freshness.quantile(0.5)),
            ms(self.freshness.quantile(0.99)),
            ms(self.freshness.quantile(1.0))
        );
    }

    fn http_markdown(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Over HTTP\n");
        let Some(http) = &self.http else {
            let _ = writeln!(out, "Left out of this run (`--http-secs 0`).");
            return;
        };
        let _ = writeln!(
            out,
            "The real server (`relais serve`, its own process, on the SQLite database and index \
             of this run) answering `GET /api/v1/offres/search` with a search key, under `oha` on \
             the same machine. Closed loop at 1, 8 and 64 connections (64: saturation), then open \
             loop at half the saturation rate with `--latency-correction`. Workloads: the \
             common-keyword queries alone, then all the classes above mixed. The peers answer the \
             common-keyword queries behind the same handler, served from this process: relais's \
             parameter parsing (without the key check) and answer (JSON documents, facets, `Content-Range`), the peer's \
             statement on a pool of {} connections, run off the async workers as relais runs \
             its search.\n",
            super::PEER_CONNECTIONS
        );
        let _ = writeln!(
            out,
            "| system | workload | connections | mode | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | failed |\n\
             |---|---|---:|---|---:|---:|---:|---:|---:|"
        );
        for run in &http.runs {
            let mode = run.rate.map_or("closed loop".to_owned(), |rate| {
                format!("open loop, {rate:.0}/s")
            });
            let _ = writeln!(
                out,
                "| {} | {} | {} | {mode} | {:.0} | {} | {} | {} | {} |",
                run.system,
                run.workload,
                run.connections,
                run.requests_per_second,
                ms(Some(run.p50)),
                ms(Some(run.p95)),
                ms(Some(run.p99)),
                run.failures
            );
        }
        let _ = writeln!(
            out,
            "\nCommon keyword over HTTP, relais against each peer: saturation throughput \
             (relais / peer) and p50 latency with one connection (peer / relais).\n\n\
             | peer | saturation | p50, 1 connection |\n|---|---:|---:|"
        );
        for (peer, saturation, latency) in http.speedups() {
            let _ = writeln!(
                out,
                "| {peer} | {} | {} |",
                times(saturation),
                times(latency)
            );
        }
        let _ = writeln!(
            out,
            "\nServer memory after the load: peak resident {} (VmHWM, the index's mapped pages \
             included), anonymous {} (RssAnon).",
            bytes(http.peak_rss),
            bytes(http.anonymous_rss)
        );
    }

    /// Grouped bars of p50 latency per class, on a log scale.
    pub fn chart_svg(&self) -> String {
        const WIDTH: f64 = 900.0;
        const ROW: f64 = 56.0;
        const LEFT: f64 = 250.0;
        const COLOURS: [&str; 3] = ["#000091", "#d64d00", "#18753c"];
        let values: Vec<f64> = QueryClass::ALL
            .iter()
            .flat_map(|class| {
                self.latencies
                    .iter()
                    .filter_map(|l| l.quantile(*class, 0.5))
                    .map(|d| d.as_secs_f64() * 1000.0)
            })
            .collect();
        let lowest = values
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .max(1e-3);
        let highest = values
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(lowest * 10.0);
        let (floor, ceiling) = (lowest.log10().floor(), highest.log10().ceil());
        let x = |ms: f64| {
            LEFT + (ms.max(1e-3).log10() - floor) / (ceiling - floor) * (WIDTH - LEFT - 20.0)
        };
        let height = 60.0 + ROW * QueryClass::ALL.len() as f64 + 40.0;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
             font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">p50 latency per query class, ms (log scale), {} offers</text>\n",
            self.offers
        );
        for (i, latencies) in self.latencies.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<rect x=\"{}\" y=\"30\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"40\">{}</text>",
                10.0 + 200.0 * i as f64,
                COLOURS[i % 3],
                26.0 + 200.0 * i as f64,
                latencies.system
            );
        }
        for (row, class) in QueryClass::ALL.iter().enumerate() {
            let top = 60.0 + ROW * row as f64;
            let _ = writeln!(
                svg,
                "<text x=\"10\" y=\"{}\">{}</text>",
                top + 24.0,
                class.label()
            );
            for (i, latencies) in self.latencies.iter().enumerate() {
                if let Some(p50) = latencies.quantile(*class, 0.5) {
                    let ms = p50.as_secs_f64() * 1000.0;
                    let y = top + 4.0 + 15.0 * i as f64;
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{:.1}\" height=\"12\" fill=\"{}\"/>\
                         <text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{ms:.2}</text>",
                        (x(ms) - LEFT).max(1.0),
                        COLOURS[i % 3],
                        x(ms) + 4.0,
                        y + 10.0
                    );
                }
            }
        }
        let axis = height - 30.0;
        let mut decade = floor;
        while decade <= ceiling {
            let ms = 10f64.powf(decade);
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"55\" x2=\"{0:.1}\" y2=\"{axis}\" stroke=\"#ccc\"/>\
                 <text x=\"{0:.1}\" y=\"{1}\" text-anchor=\"middle\">{ms}</text>",
                x(ms),
                axis + 15.0
            );
            decade += 1.0;
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let mut latencies = Latencies::new("relais");
        for ms in 1..=100 {
            latencies.add(QueryClass::Newest, Duration::from_millis(ms));
        }
        assert_eq!(
            latencies.quantile(QueryClass::Newest, 0.5),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            latencies.quantile(QueryClass::Newest, 0.99),
            Some(Duration::from_millis(99))
        );
        assert_eq!(latencies.quantile(QueryClass::DeepPage, 0.5), None);
    }

    #[test]
    fn overlap_counts_shared_ids_among_the_first() {
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(overlap(&ids(&["a", "b"]), &ids(&["b", "c"])), 0.5);
        assert_eq!(overlap(&[], &[]), 1.0);
        assert_eq!(overlap(&ids(&["a"]), &[]), 0.0);
    }
}
