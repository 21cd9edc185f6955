//! Bulk import of offers from files: France Travail API response pages
//! (`{"resultats": […]}`) or JSON Lines, one offer per line. A bad record is
//! reported with where it is and why, and the rest goes on; importing the
//! same file twice changes nothing the second time.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::model::text_at;
use super::sync::agency_rule::AgencyRule;
use super::{FieldError, INGEST_BATCH, Upserted, in_batches, ingest_many};
use crate::db::{DbConnection, DbError};

#[derive(Debug, Default)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejection>,
}

/// A record left out: where it is (line or position in `resultats`) and why.
#[derive(Debug)]
pub struct Rejection {
    pub place: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("lecture de {path} impossible : {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} n'est ni une page de l'API (objet avec « resultats ») ni des lignes JSON")]
    Format { path: String },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl ImportReport {
    fn record(&mut self, place: String, outcome: Result<Upserted, Vec<FieldError>>) {
        match outcome {
            Ok(Upserted::Created) => self.created += 1,
            Ok(Upserted::Updated) => self.updated += 1,
            Ok(Upserted::Unchanged) => self.unchanged += 1,
            Err(errors) => {
                let reason = errors
                    .iter()
                    .map(|e| {
                        if e.champ.is_empty() {
                            e.message.clone()
                        } else {
                            format!("champ « {} » : {}", e.champ, e.message)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ; ");
                self.rejected.push(Rejection { place, reason });
            }
        }
    }
}

/// Imports one file. An offer without `codeAgence`, as the France Travail
/// API gives them, goes to the agency `rule` (`sync.agencies`) gives its
/// commune, as the sync does. `progress` receives the number of bytes read
/// so far.
pub fn import_file(
    conn: &mut DbConnection,
    agencies: &HashSet<String>,
    rule: &AgencyRule,
    path: &Path,
    now: NaiveDateTime,
    progress: &dyn Fn(u64),
) -> Result<ImportReport, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(read_error)?);
    let mut first = String::new();
    reader.read_line(&mut first).map_err(read_error)?;
    let mut report = ImportReport::default();
    // Records go in batches, one transaction each: a commit per offer would
    // cost more than the offer.
    let mut ingest_batch = |report: &mut ImportReport, batch: Vec<(String, Value)>| {
        let (places, documents): (Vec<String>, Vec<Value>) = batch
            .into_iter()
            .filter_map(|(place, document)| match with_agency(document, rule) {
                Ok(document) => Some((place, document)),
                Err(reason) => {
                    report.rejected.push(Rejection { place, reason });
                    None
                }
            })
            .unzip();
        let mut places = places.into_iter();
        ingest_many(conn, agencies, documents, now, |outcome| {
            let place = places.next().unwrap_or_default();
            report.record(place, outcome.map(|(_, upserted)| upserted));
            Ok::<_, DbError>(())
        })
    };

    // JSON Lines when the first line is a whole object (valid or not) that
    // is not itself a page; a page may be spread over several lines.
    let trimmed = first.trim();
    let one_line_object = trimmed.len() > 1 && trimmed.starts_with('{') && trimmed.ends_with('}');
    let is_page =
        serde_json::from_str::<Value>(trimmed).is_ok_and(|v| v.get("resultats").is_some());
    match one_line_object && !is_page {
        true => {
            let mut line = first;
            let mut number = 1;
            let mut read = 0;
            let mut batch = Vec::with_capacity(INGEST_BATCH);
            loop {
                read += line.len() as u64;
                progress(read);
                if !line.trim().is_empty() {
                    let place = format!("ligne {number}");
                    match serde_json::from_str::<Value>(&line) {
                        Ok(document) => batch.push((place, document)),
                        Err(e) => report.rejected.push(Rejection {
                            place,
                            reason: format!("JSON invalide : {e}"),
                        }),
                    }
                }
                if batch.len() == INGEST_BATCH {
                    ingest_batch(&mut report, std::mem::take(&mut batch))?;
                }
                line.clear();
                if reader.read_line(&mut line).map_err(read_error)? == 0 {
                    break;
                }
                number += 1;
            }
            ingest_batch(&mut report, batch)?;
        }
        false => {
            // A page of the API, possibly spread over several lines.
            let mut text = first;
            reader.read_to_string(&mut text).map_err(read_error)?;
            progress(text.len() as u64);
            let format_error = || ImportError::Format {
                path: path.display().to_string(),
            };
            let mut page: Value = serde_json::from_str(&text).map_err(|_| format_error())?;
            drop(text);
            // Taken out of the page rather than copied: a page holds them all.
            let Some(Value::Array(offers)) = page.get_mut("resultats").map(Value::take) else {
                return Err(format_error());
            };
            let records = offers
                .into_iter()
                .enumerate()
                .map(|(position, offer)| Ok((format!("resultats[{position}]"), offer)));
            in_batches(records, INGEST_BATCH, |batch| {
                ingest_batch(&mut report, batch)
            })?;
        }
    }
    Ok(report)
}

/// The offer as it came when it names its agency; otherwise with the agency
/// of its commune, or why there is none.
fn with_agency(document: Value, rule: &AgencyRule) -> Result<Value, String> {
    if document.get("codeAgence").is_some() {
        return Ok(document);
    }
    let commune = document
        .as_object()
        .and_then(|offer| text_at(offer, &["lieuTravail", "commune"]))
        .map(str::to_owned);
    rule.with_agency(document).ok_or_else(|| match commune {
        Some(commune) => format!(
            "champ « codeAgence » absent, et aucune agence n'est configurée pour la commune \
             {commune} (sync.agencies)"
        ),
        None => "champ « codeAgence » absent, et pas de commune (lieuTravail.commune) \
                 pour trouver l'agence"
            .to_owned(),
    })
}
