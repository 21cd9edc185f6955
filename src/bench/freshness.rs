//! Update-to-visible latency: a writer changes or suspends offers at a
//! steady rate through the real write paths (ingest, status), waking the
//! indexer as the API does, while a reader searches for each change as it
//! is written and after every commit, until it shows.
//!
//! Every other write renames an offer with a word no other offer has: it is
//! visible when searching the word finds the offer. The others suspend an
//! offer given its own word beforehand (untimed): visible when searching
//! that word no longer finds it. The two never touch the same offer, so no
//! change can hide another.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use super::BenchError;
use super::report::nearest_rank;
use crate::db::Database;
use crate::offers::model::{OfferId, OfferStatus};
use crate::offers::{self, store};
use crate::search::index::{IndexerWaker, SearchIndex};
use crate::search::params::{Context, SearchRequest};
use crate::search::query;

/// Changes a second, as the benchmark issue asks.
pub const CHANGES_PER_SECOND: u32 = 50;
/// A change still not visible after this is lost, not late.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// How long each change took to show, sorted.
pub struct Freshness {
    latencies: Vec<Duration>,
}

impl Freshness {
    /// Changes written and seen.
    pub fn changes(&self) -> usize {
        self.latencies.len()
    }

    pub fn quantile(&self, q: f64) -> Option<Duration> {
        nearest_rank(&self.latencies, q)
    }
}

/// A write the reader waits to see.
struct Written {
    word: String,
    /// Whether searching the word must find the offer (rename) or not (suspension).
    present: bool,
    at: Instant,
}

/// A word unique to change `n`, of consonants only: no French suffix for the
/// stemmer to take off, so no two markers meet in the index.
fn marker(n: usize) -> String {
    const LETTERS: &[u8] = b"bcdfghjklmnpqrtvwz";
    let mut word = "zqx".to_owned();
    let mut rest = n;
    loop {
        word.push(char::from(LETTERS[rest % LETTERS.len()]));
        rest /= LETTERS.len();
        if rest == 0 {
            word.push('q');
            return word;
        }
    }
}

fn changes_in(duration: Duration) -> usize {
    (duration.as_secs_f64() * f64::from(CHANGES_PER_SECOND)) as usize
}

/// How many documents the writer changes in `duration`: it renames the
/// first ones and suspends those after them.
pub fn documents_needed(duration: Duration) -> usize {
    let count = changes_in(duration);
    count + count / 2
}

pub struct Writer<'a> {
    pub database: &'a Database,
    pub waker: IndexerWaker,
    pub agencies: &'a HashSet<String>,
    /// The first documents of the corpus (`documents_needed`).
    pub documents: &'a [Value],
    pub now: chrono::NaiveDateTime,
}

/// Runs the writer for `duration` and waits for its last change to show.
pub fn measure(
    writer: Writer<'_>,
    index: &SearchIndex,
    context: &Context<'_>,
    duration: Duration,
) -> Result<Freshness, BenchError> {
    let (sender, receiver) = mpsc::unbounded_channel::<Written>();
    let count = changes_in(duration);
    let to_suspend = mark_offers(&writer, index, context, count / 2)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    std::thread::scope(|scope| {
        let writing = scope.spawn(move || write_changes(&writer, &to_suspend, count, &sender));
        let latencies = runtime.block_on(watch_changes(index, context, receiver, count))?;
        writing
            .join()
            .map_err(|_| BenchError::Invalid("l'écrivain de la mesure s'est arrêté".into()))??;
        Ok(Freshness { latencies })
    })
}

/// The reader: searches for each pending change when it is written and
/// whenever the index takes in a commit (a search can only change then),
/// rather than in a loop that would take a core from the indexer.
async fn watch_changes(
    index: &SearchIndex,
    context: &Context<'_>,
    mut writes: mpsc::UnboundedReceiver<Written>,
    count: usize,
) -> Result<Vec<Duration>, BenchError> {
    let mut latencies = Vec::with_capacity(count);
    let mut pending: Vec<Written> = Vec::new();
    let mut writer_done = false;
    loop {
        // Read before searching: a commit landing during the searches
        // ends the wait below at once.
        let seen = index.applied_sequence();
        let mut still = Vec::with_capacity(pending.len());
        for written in pending {
            if visible(index, context, &written)? {
                latencies.push(written.at.elapsed());
            } else if written.at.elapsed() > GIVE_UP_AFTER {
                return Err(BenchError::Invalid(format!(
                    "{} n'est pas visible dans la recherche après {} s (mot « {} »)",
                    if written.present {
                        "un renommage"
                    } else {
                        "une suspension"
                    },
                    GIVE_UP_AFTER.as_secs(),
                    written.word
                )));
            } else {
                still.push(written);
            }
        }
        pending = still;
        if writer_done && pending.is_empty() {
            break;
        }
        // Bounded, so that a change never shown is reported, not waited for.
        let next_commit = tokio::time::timeout(GIVE_UP_AFTER, index.wait_for(seen + 1));
        if writer_done {
            let _ = next_commit.await;
            continue;
        }
        tokio::select! {
            written = writes.recv() => match written {
                Some(written) => pending.push(written),
                None => writer_done = true,
            },
            _ = next_commit, if !pending.is_empty() => {}
        }
    }
    latencies.sort();
    Ok(latencies)
}

fn visible(
    index: &SearchIndex,
    context: &Context<'_>,
    written: &Written,
) -> Result<bool, BenchError> {
    let params = [("motsCles".to_owned(), written.word.clone())];
    let request = SearchRequest::parse(&params, context)
        .map_err(|e| BenchError::Invalid(format!("recherche du marqueur : {e}")))?;
    let found = query::search(index, &request)?.total > 0;
    Ok(found == written.present)
}

/// Renames the offer of `documents[n]` (modulo their number) with `marker(n)`.
fn rename(
    writer: &Writer<'_>,
    conn: &mut crate::db::DbConnection,
    n: usize,
) -> Result<(OfferId, String), BenchError> {
    let word = marker(n);
    let mut document = writer.documents[n % writer.documents.len()].clone();
    let title = document["intitule"].as_str().unwrap_or_default().to_owned();
    document["intitule"] = Value::from(format!("{title} {word}"));
    let (id, _) = offers::ingest(conn, writer.agencies, document, writer.now)
        .map_err(|e| BenchError::Invalid(format!("modification refusée : {e}")))?;
    Ok((id, word))
}

/// Gives `how_many` offers from the end of the corpus their own word, and
/// waits until search sees them all.
fn mark_offers(
    writer: &Writer<'_>,
    index: &SearchIndex,
    context: &Context<'_>,
    how_many: usize,
) -> Result<Vec<(OfferId, String)>, BenchError> {
    let mut conn = writer.database.connection()?;
    let first = writer.documents.len().saturating_sub(how_many);
    let marked = (first..first + how_many)
        .map(|n| rename(writer, &mut conn, n))
        .collect::<Result<Vec<_>, _>>()?;
    writer.waker.wake();
    if let Some((_, word)) = marked.last() {
        let last = Written {
            word: word.clone(),
            present: true,
            at: Instant::now(),
        };
        while !visible(index, context, &last)? {
            if last.at.elapsed() > GIVE_UP_AFTER {
                return Err(BenchError::Invalid(
                    "les offres à suspendre ne sont pas visibles dans la recherche".into(),
                ));
            }
        }
    }
    Ok(marked)
}

/// `count` changes spaced evenly at `CHANGES_PER_SECOND`: renames, and
/// suspensions of the offers of `to_suspend`, in turn.
fn write_changes(
    writer: &Writer<'_>,
    to_suspend: &[(OfferId, String)],
    count: usize,
    sender: &mpsc::UnboundedSender<Written>,
) -> Result<(), BenchError> {
    let mut conn = writer.database.connection()?;
    let spacing = Duration::from_secs(1) / CHANGES_PER_SECOND;
    let started = Instant::now();
    let mut suspensions = to_suspend.iter();
    for n in 0..count {
        // Pacing the writer, not waiting for anything.
        if let Some(wait) = (started + spacing * n as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let suspension = if n % 2 == 1 { suspensions.next() } else { None };
        let written = match suspension {
            Some((id, word)) => {
                store::set_status(&mut conn, id, OfferStatus::Suspendue)?;
                Written {
                    word: word.clone(),
                    present: false,
                    at: Instant::now(),
                }
            }
            None => {
                let (_, word) = rename(writer, &mut conn, n)?;
                Written {
                    word,
                    present: true,
                    at: Instant::now(),
                }
            }
        };
        writer.waker.wake();
        if sender.send(written).is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::marker;
    use tantivy::tokenizer::TokenStream as _;

    #[test]
    fn markers_stay_distinct_through_the_french_analyzer() {
        let (schema, _) = crate::search::schema::build();
        let index = tantivy::Index::create_in_ram(schema);
        crate::search::schema::register_analyzer(&index);
        let mut analyzer = index
            .tokenizers()
            .get(crate::search::schema::FRENCH)
            .expect("registered");
        let mut terms = std::collections::HashSet::new();
        for n in 0..5000 {
            let word = marker(n);
            let mut tokens = Vec::new();
            analyzer
                .token_stream(&word)
                .process(&mut |token| tokens.push(token.text.clone()));
            assert_eq!(tokens.len(), 1, "{word}");
            terms.extend(tokens);
        }
        assert_eq!(terms.len(), 5000);
    }
}
