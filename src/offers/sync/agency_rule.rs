//! Which agency manages an upstream offer: France Travail's search does not
//! say, so the commune of the workplace decides, by the longest configured
//! INSEE code prefix.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::offers::model::text_at;

/// Commune code prefixes and the agency each belongs to, longest first.
#[derive(Debug, Clone)]
pub struct AgencyRule {
    prefixes: Vec<(String, String)>,
}

impl AgencyRule {
    /// Checks `sync.agencies`: prefixes of an INSEE code (1 to 5 digits, or
    /// `A`/`B` for Corsica), each claimed by one agency only, every agency
    /// known to relais.
    pub fn parse(
        mapping: &BTreeMap<String, Vec<String>>,
        known_agencies: &HashSet<String>,
    ) -> Result<AgencyRule, String> {
        let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (agency, prefixes) in mapping {
            if !prefixes.is_empty() && !known_agencies.contains(agency) {
                return Err(format!(
                    "sync.agencies nomme l'agence « {agency} », inconnue de relais"
                ));
            }
            for prefix in prefixes {
                let valid = (1..=5).contains(&prefix.len())
                    && prefix
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'A' || b == b'B');
                if !valid {
                    return Err(format!(
                        "sync.agencies.{agency} : « {prefix} » n'est ni un code INSEE de commune \
                         ni le début d'un code (1 à 5 chiffres)"
                    ));
                }
                if let Some(other) = owner.insert(prefix, agency)
                    && other != agency
                {
                    return Err(format!(
                        "sync.agencies : « {prefix} » est donné à la fois à {other} et à {agency}"
                    ));
                }
            }
        }
        let mut prefixes: Vec<(String, String)> = owner
            .into_iter()
            .map(|(prefix, agency)| (prefix.to_owned(), agency.to_owned()))
            .collect();
        prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(AgencyRule { prefixes })
    }

    /// The document with `codeAgence` set from its workplace's commune;
    /// `None` out of territory. What is not an object is left to the checks
    /// to reject.
    pub fn with_agency(&self, document: Value) -> Option<Value> {
        let Value::Object(mut document) = document else {
            return Some(document);
        };
        let agency = text_at(&document, &["lieuTravail", "commune"])
            .and_then(|commune| self.agency_for(commune))?;
        document.insert("codeAgence".to_owned(), Value::String(agency.to_owned()));
        Some(Value::Object(document))
    }

    /// The agency managing offers in that commune; `None`: out of territory.
    pub fn agency_for(&self, commune: &str) -> Option<&str> {
        self.prefixes
            .iter()
            .find(|(prefix, _)| commune.starts_with(prefix.as_str()))
            .map(|(_, agency)| agency.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pairs: &[(&str, &[&str])]) -> Result<AgencyRule, String> {
        let mapping = pairs
            .iter()
            .map(|(agency, prefixes)| {
                (
                    (*agency).to_owned(),
                    prefixes.iter().map(|p| (*p).to_owned()).collect(),
                )
            })
            .collect();
        let known = ["13013", "13483", "84526"].map(str::to_owned).into();
        AgencyRule::parse(&mapping, &known)
    }

    #[test]
    fn the_longest_prefix_wins() {
        let rule = rule(&[("13013", &["13"]), ("13483", &["1311", "13110"])]).unwrap();
        assert_eq!(rule.agency_for("13110"), Some("13483"));
        assert_eq!(rule.agency_for("13112"), Some("13483"));
        assert_eq!(rule.agency_for("13001"), Some("13013"));
        assert_eq!(rule.agency_for("84089"), None, "hors territoire");
    }

    #[test]
    fn whole_codes_match_only_themselves() {
        let rule = rule(&[("84526", &["84089"])]).unwrap();
        assert_eq!(rule.agency_for("84089"), Some("84526"));
        assert_eq!(rule.agency_for("84088"), None);
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        assert!(
            rule(&[("99999", &["13001"])])
                .unwrap_err()
                .contains("99999")
        );
        assert!(
            rule(&[("13013", &["13-01"])])
                .unwrap_err()
                .contains("13-01")
        );
        let shared = rule(&[("13013", &["13001"]), ("13483", &["13001"])]).unwrap_err();
        assert!(
            shared.contains("13013") && shared.contains("13483"),
            "{shared}"
        );
        assert!(
            rule(&[("99999", &[])]).is_ok(),
            "an emptied agency is ignored"
        );
    }

    #[test]
    fn the_default_rule_covers_the_six_reference_agencies() {
        let settings = crate::config::Settings::load(&crate::config::Sources::default()).unwrap();
        let known: HashSet<String> = settings.sync.agencies.keys().cloned().collect();
        assert_eq!(known.len(), 6);
        let rule = AgencyRule::parse(&settings.sync.agencies, &known).unwrap();
        for (commune, agency) in [
            ("13001", "13013"),
            ("13110", "13483"),
            ("13041", "13181"),
            ("13117", "13501"),
            ("13054", "13196"),
            ("84089", "84526"),
        ] {
            assert_eq!(rule.agency_for(commune), Some(agency), "{commune}");
        }
        assert_eq!(rule.agency_for("13055"), None, "Marseille is not ours");
    }
}
