//! Agencies of the territory: each manages offers and has a recruitment
//! mailbox. They are configuration (`config/agencies.toml`), copied into the
//! `agencies` table at every start so that the rest of the data can refer to
//! them.

use std::path::Path;

use diesel::prelude::*;
use serde::Deserialize;

use crate::config::AgenciesSettings;
use crate::db::schema::agencies;
use crate::db::{DbConnection, DbError};
use crate::mail::EmailAddress;

/// The six agencies of the reference deployment (Pays d'Aix).
pub const REFERENCE_AGENCIES: &str = include_str!("../../config/agencies.toml");

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agencies)]
pub struct Agency {
    /// SAFIR code: five digits.
    pub code: String,
    pub name: String,
    /// Recruitment mailbox (« BAL recrutement »).
    pub mailbox: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AgencyConfigError {
    #[error("fichier des agences {path} illisible : {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("fichier des agences {path} invalide : {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgenciesFile {
    agency: Vec<Agency>,
}

impl<'de> Deserialize<'de> for Agency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            code: String,
            name: String,
            mailbox: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        Agency::parse(raw.code, raw.name, raw.mailbox).map_err(serde::de::Error::custom)
    }
}

impl Agency {
    /// Checks an agency read from configuration.
    pub fn parse(code: String, name: String, mailbox: String) -> Result<Agency, String> {
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("code d'agence « {code} » : cinq chiffres attendus"));
        }
        if name.trim().is_empty() {
            return Err(format!("agence {code} : le nom est vide"));
        }
        if EmailAddress::parse(&mailbox).is_none() {
            return Err(format!(
                "agence {code} : « {mailbox} » n'est pas une adresse électronique"
            ));
        }
        Ok(Agency {
            code,
            name: name.trim().to_owned(),
            mailbox,
        })
    }

    /// The departments its SAFIR code places it in, as the communes'
    /// referential writes them: the code's first two digits, three overseas
    /// (971…976); « 20 » is Corsica, 2A and 2B.
    pub fn departments(&self) -> Vec<&str> {
        match self.code.get(..2) {
            Some("20") => vec!["2A", "2B"],
            Some("97") => self.code.get(..3).into_iter().collect(),
            prefix => prefix.into_iter().collect(),
        }
    }
}

/// The codes of the compiled-in reference agencies, for tests that parse
/// offers.
#[cfg(test)]
pub fn reference_codes() -> std::collections::HashSet<String> {
    load(&AgenciesSettings {
        file: std::path::PathBuf::new(),
    })
    .expect("the reference agencies load")
    .into_iter()
    .map(|agency| agency.code)
    .collect()
}

/// Reads the configured agencies: the compiled-in reference set, or a file.
pub fn load(settings: &AgenciesSettings) -> Result<Vec<Agency>, AgencyConfigError> {
    if settings.file.as_os_str().is_empty() {
        return parse_file(REFERENCE_AGENCIES, "config/agencies.toml (intégré)");
    }
    let path: &Path = &settings.file;
    let text = std::fs::read_to_string(path).map_err(|source| AgencyConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_file(&text, &path.display().to_string())
}

fn parse_file(text: &str, origin: &str) -> Result<Vec<Agency>, AgencyConfigError> {
    let invalid = |message: String| AgencyConfigError::Invalid {
        path: origin.to_owned(),
        message,
    };
    let file: AgenciesFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if file.agency.is_empty() {
        return Err(invalid("aucune agence déclarée".to_owned()));
    }
    let mut codes: Vec<&str> = file.agency.iter().map(|a| a.code.as_str()).collect();
    codes.sort_unstable();
    if let Some(pair) = codes.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(invalid(format!(
            "le code {} est déclaré deux fois",
            pair[0]
        )));
    }
    Ok(file.agency)
}

/// Inserts new agencies and updates the name and mailbox of known ones, in
/// one transaction. Returns how many were new. Agencies no longer configured
/// are kept: offers and requests of the past still refer to them.
pub fn upsert_all(conn: &mut DbConnection, configured: &[Agency]) -> Result<usize, DbError> {
    conn.transaction(|conn| {
        let mut inserted = 0;
        for agency in configured {
            let updated = diesel::update(agencies::table.find(&agency.code))
                .set(agency)
                .execute(conn)?;
            if updated == 0 {
                diesel::insert_into(agencies::table)
                    .values(agency)
                    .execute(conn)?;
                inserted += 1;
            }
        }
        Ok(inserted)
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Agency>, DbError> {
    Ok(agencies::table
        .order(agencies::code)
        .select(Agency::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<Agency>, DbError> {
    Ok(agencies::table
        .find(code)
        .select(Agency::as_select())
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agency_lies_in_the_departments_its_code_says() {
        let departments = |code: &str| {
            let agency = Agency::parse(code.to_owned(), "Agence".to_owned(), "a@b.fr".to_owned());
            agency.unwrap().departments().join(",")
        };
        assert_eq!(departments("13013"), "13");
        assert_eq!(departments("84526"), "84");
        assert_eq!(departments("20011"), "2A,2B");
        assert_eq!(departments("97410"), "974");
    }

    #[test]
    fn reference_agencies_are_the_six_of_the_pays_d_aix() {
        let agencies = load(&AgenciesSettings {
            file: Default::default(),
        })
        .expect("reference agencies parse");
        let codes: Vec<&str> = agencies.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(
            codes,
            ["13013", "13483", "13181", "13501", "13196", "84526"]
        );
        assert!(
            agencies
                .iter()
                .all(|a| a.mailbox.ends_with("@pole-emploi.net"))
        );
    }

    #[test]
    fn bad_agencies_are_refused_with_the_reason() {
        let duplicated = "[[agency]]\ncode = \"13013\"\nname = \"A\"\nmailbox = \"a@b.fr\"\n\
                          [[agency]]\ncode = \"13013\"\nname = \"B\"\nmailbox = \"b@b.fr\"\n";
        let error = parse_file(duplicated, "test").unwrap_err().to_string();
        assert!(error.contains("13013 est déclaré deux fois"), "{error}");

        let bad_code = "[[agency]]\ncode = \"1301\"\nname = \"A\"\nmailbox = \"a@b.fr\"\n";
        let error = parse_file(bad_code, "test").unwrap_err().to_string();
        assert!(error.contains("cinq chiffres"), "{error}");

        let bad_mailbox =
            "[[agency]]\ncode = \"13013\"\nname = \"A\"\nmailbox = \"pas une adresse\"\n";
        let error = parse_file(bad_mailbox, "test").unwrap_err().to_string();
        assert!(error.contains("n'est pas une adresse"), "{error}");
    }
}
