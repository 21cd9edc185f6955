//! Public French referentials shipped with relais (config/referentiels):
//! communes with their town-hall coordinates, ROME jobs, NAF divisions, and
//! France Travail's contract types and natures. Parsed once, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::text::fold;

const COMMUNES_CSV: &str = include_str!("../../config/referentiels/communes.csv");
const ROME_CSV: &str = include_str!("../../config/referentiels/rome.csv");
const SECTORS_CSV: &str = include_str!("../../config/referentiels/secteurs.csv");
const DEPARTMENTS_CSV: &str = include_str!("../../config/referentiels/departements.csv");

#[derive(Debug, Clone, Serialize)]
pub struct Commune {
    /// INSEE code.
    pub code: String,
    pub name: String,
    pub department: String,
    pub postal_codes: Vec<String>,
    /// 0 where unknown.
    pub population: u64,
    pub latitude: f64,
    pub longitude: f64,
    /// A municipal arrondissement of Paris, Lyon or Marseille.
    pub is_arrondissement: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// ROME code, e.g. "F1602".
    pub code: String,
    pub label: String,
    /// NAF divisions where the job occurs.
    pub sectors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeLabel {
    pub code: &'static str,
    pub label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    /// INSEE code: 13, 2A, 974.
    pub code: String,
    pub name: String,
    pub region: Region,
}

#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// INSEE code, two digits.
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sector {
    /// NAF division, two digits.
    pub code: String,
    pub label: String,
}

/// France Travail contract types (`typeContrat`).
pub const CONTRACT_TYPES: &[CodeLabel] = &[
    CodeLabel {
        code: "CDI",
        label: "Contrat à durée indéterminée",
    },
    CodeLabel {
        code: "CDD",
        label: "Contrat à durée déterminée",
    },
    CodeLabel {
        code: "MIS",
        label: "Mission intérimaire",
    },
    CodeLabel {
        code: "SAI",
        label: "Contrat travail saisonnier",
    },
    CodeLabel {
        code: "DIN",
        label: "CDI intérimaire",
    },
    CodeLabel {
        code: "CCE",
        label: "Profession commerciale",
    },
    CodeLabel {
        code: "FRA",
        label: "Franchise",
    },
    CodeLabel {
        code: "LIB",
        label: "Profession libérale",
    },
    CodeLabel {
        code: "REP",
        label: "Reprise d'entreprise",
    },
    CodeLabel {
        code: "TTI",
        label: "Travail temporaire insertion",
    },
    CodeLabel {
        code: "DDI",
        label: "CDD insertion",
    },
];

/// France Travail contract natures (`natureContrat`).
pub const CONTRACT_NATURES: &[CodeLabel] = &[
    CodeLabel {
        code: "E1",
        label: "Contrat travail",
    },
    CodeLabel {
        code: "E2",
        label: "Contrat apprentissage",
    },
    CodeLabel {
        code: "FS",
        label: "Cont. professionnalisation",
    },
    CodeLabel {
        code: "FA",
        label: "Cont. aidé",
    },
    CodeLabel {
        code: "FT",
        label: "CUI - CAE",
    },
    CodeLabel {
        code: "FU",
        label: "CUI - CIE",
    },
    CodeLabel {
        code: "I1",
        label: "Insertion par l'activ.éco.",
    },
    CodeLabel {
        code: "NS",
        label: "Emploi non salarié",
    },
    CodeLabel {
        code: "FV",
        label: "Contrat PEC",
    },
];

pub struct Referentials {
    pub communes: Vec<Commune>,
    pub jobs: Vec<Job>,
    pub sectors: Vec<Sector>,
    pub departments: Vec<Department>,
    commune_index: HashMap<String, usize>,
    job_index: HashMap<String, usize>,
    department_index: HashMap<String, usize>,
}

/// The referentials, parsed on first use. The files are compiled in and
/// checked by tests, so a parse failure is a build defect.
pub fn get() -> &'static Referentials {
    static REFERENTIALS: OnceLock<Referentials> = OnceLock::new();
    REFERENTIALS.get_or_init(|| Referentials::parse().unwrap_or_else(|e| panic!("{e}")))
}

impl Referentials {
    fn parse() -> Result<Referentials, String> {
        let communes = parse_communes()?;
        let jobs = parse_jobs()?;
        let sectors = parse_sectors()?;
        let departments = parse_departments()?;
        let commune_index = by_code(&communes, |c| &c.code);
        let job_index = by_code(&jobs, |j| &j.code);
        let department_index = by_code(&departments, |d| &d.code);
        Ok(Referentials {
            communes,
            jobs,
            sectors,
            commune_index,
            job_index,
            departments,
            department_index,
        })
    }

    pub fn commune(&self, insee_code: &str) -> Option<&Commune> {
        self.commune_index
            .get(insee_code)
            .map(|&i| &self.communes[i])
    }

    /// The department of a code: 13, 2A, 974…
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.department_index
            .get(code)
            .map(|&i| &self.departments[i])
    }

    pub fn job(&self, rome_code: &str) -> Option<&Job> {
        self.job_index.get(rome_code).map(|&i| &self.jobs[i])
    }

    /// The commune a person typed: an INSEE code, a name, or a name with its
    /// department as the suggestions write it, « Aix-en-Provence (13) ».
    /// Case, accents, hyphens and articles do not matter. Several communes
    /// of the same name without a department: the name as typed first, then
    /// the most populated.
    pub fn communes_named(&self, typed: &str) -> Vec<&Commune> {
        let typed = typed.trim();
        if let Some(commune) = self.commune(typed) {
            return vec![commune];
        }
        let (name, department) = match typed.strip_suffix(')').and_then(|t| t.rsplit_once(" (")) {
            Some((name, department)) => (name, Some(department.trim())),
            None => (typed, None),
        };
        // Names are typed with their article or without (« Ciotat » for La
        // Ciotat, « Les Saintes » for Saintes): the exact name first.
        let folded = saints_in_full(&fold(name));
        let bare = without_article(&folded);
        // Arrondissements too: « Marseille 1er Arrondissement (13) », as the
        // search page shows one chosen by its code, is found again.
        let mut found: Vec<(bool, &Commune)> = self
            .communes
            .iter()
            .filter(|c| department.is_none_or(|d| c.department == d))
            .filter_map(|c| {
                let name = fold(&c.name);
                (without_article(&name) == bare).then_some((name == folded, c))
            })
            .collect();
        found.sort_by_key(|(exact, c)| (!exact, std::cmp::Reverse(c.population)));
        found.into_iter().map(|(_, c)| c).collect()
    }
}

/// « St Cannat », « Ste Tulle », as people abbreviate them: « saint
/// cannat », « sainte tulle », as the names are written.
fn saints_in_full(folded: &str) -> String {
    folded
        .split(' ')
        .map(|word| match word {
            "st" => "saint",
            "ste" => "sainte",
            "sts" => "saints",
            "stes" => "saintes",
            word => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A folded name less its article (« la ciotat » → « ciotat »).
pub fn without_article(folded: &str) -> &str {
    ["la ", "le ", "les ", "l ", "aux ", "los "]
        .iter()
        .find_map(|article| folded.strip_prefix(article))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(folded)
}

/// Written as a ROME code is, whatever the letter's case: a letter and
/// four digits (J1501).
pub fn shaped_like_rome_code(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.clone().count() == 4
        && chars.all(|c| c.is_ascii_digit())
}

/// The commune that holds an arrondissement (Paris, Lyon, Marseille), for
/// an arrondissement's INSEE code.
pub fn city_of_arrondissement(insee_code: &str) -> Option<&'static str> {
    let number: u32 = insee_code.parse().ok()?;
    match number {
        75101..=75120 => Some("75056"),
        69381..=69389 => Some("69123"),
        13201..=13216 => Some("13055"),
        _ => None,
    }
}

/// A list the files write separated by spaces.
fn separated(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_owned).collect()
}

/// Where each item is, by its code.
fn by_code<T>(items: &[T], code: impl Fn(&T) -> &String) -> HashMap<String, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (code(item).clone(), i))
        .collect()
}

/// Each row of a compiled-in CSV file, read as `Row` and made into a `T`.
fn parse<Row: serde::de::DeserializeOwned, T>(
    file: &str,
    csv: &'static str,
    make: impl Fn(Row) -> T,
) -> Result<Vec<T>, String> {
    csv::Reader::from_reader(csv.as_bytes())
        .deserialize::<Row>()
        .map(|row| row.map(&make).map_err(|e| format!("{file} : {e}")))
        .collect()
}

fn parse_communes() -> Result<Vec<Commune>, String> {
    #[derive(serde::Deserialize)]
    struct Row {
        code_insee: String,
        nom: String,
        departement: String,
        codes_postaux: String,
        /// "\N" where INSEE gives none.
        population: String,
        latitude: f64,
        longitude: f64,
        #[serde(rename = "type")]
        kind: String,
    }
    parse("communes.csv", COMMUNES_CSV, |row: Row| Commune {
        postal_codes: separated(&row.codes_postaux),
        is_arrondissement: row.kind == "ARM",
        code: row.code_insee,
        name: row.nom,
        department: row.departement,
        population: row.population.parse().unwrap_or(0),
        latitude: row.latitude,
        longitude: row.longitude,
    })
}

fn parse_jobs() -> Result<Vec<Job>, String> {
    #[derive(serde::Deserialize)]
    struct Row {
        code_rome: String,
        libelle: String,
        secteurs_naf: String,
    }
    parse("rome.csv", ROME_CSV, |row: Row| Job {
        sectors: separated(&row.secteurs_naf),
        code: row.code_rome,
        label: row.libelle,
    })
}

fn parse_sectors() -> Result<Vec<Sector>, String> {
    #[derive(serde::Deserialize)]
    struct Row {
        code_naf_division: String,
        libelle: String,
    }
    parse("secteurs.csv", SECTORS_CSV, |row: Row| Sector {
        code: row.code_naf_division,
        label: row.libelle,
    })
}

fn parse_departments() -> Result<Vec<Department>, String> {
    #[derive(serde::Deserialize)]
    struct Row {
        code: String,
        nom: String,
        region: String,
        nom_region: String,
    }
    parse("departements.csv", DEPARTMENTS_CSV, |row: Row| Department {
        code: row.code,
        name: row.nom,
        region: Region {
            code: row.region,
            name: row.nom_region,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Each commune's department is named, and each department named has
    /// communes: the two files come from the same geographic code.
    #[test]
    fn the_departments_are_those_of_the_communes() {
        let referentials = get();
        let of_communes: HashSet<&str> = referentials
            .communes
            .iter()
            .map(|c| c.department.as_str())
            .collect();
        let named: HashSet<&str> = referentials
            .departments
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(of_communes, named);
        assert_eq!(named.len(), referentials.departments.len(), "each once");
        let bdr = referentials.department("13").unwrap();
        assert_eq!(
            (bdr.name.as_str(), bdr.region.name.as_str()),
            ("Bouches-du-Rhône", "Provence-Alpes-Côte d'Azur")
        );
        assert_eq!(referentials.department("2A").unwrap().name, "Corse-du-Sud");
        assert!(referentials.department("20").is_none());
    }

    #[test]
    fn communes_are_found_by_name_as_people_type_them() {
        let referentials = get();
        for typed in [
            "Aix-en-Provence",
            "aix en provence",
            "AIX-EN-PROVENCE (13)",
            "13001",
        ] {
            let found = referentials.communes_named(typed);
            assert_eq!(
                found.first().map(|c| c.code.as_str()),
                Some("13001"),
                "{typed}"
            );
        }
        assert!(
            referentials
                .communes_named("Aix-en-Provence (84)")
                .is_empty()
        );
        assert!(referentials.communes_named("Nulle-Part-sur-Mer").is_empty());
        let first = referentials.communes_named("Marseille 1er Arrondissement (13)");
        assert_eq!(first.first().map(|c| c.code.as_str()), Some("13201"));
        let city = referentials.communes_named("Marseille");
        assert_eq!(city.first().map(|c| c.code.as_str()), Some("13055"));
        // Named with their article, found with it or without.
        assert_eq!(
            referentials.commune("13028").map(|c| c.name.as_str()),
            Some("La Ciotat")
        );
        for (typed, code) in [
            ("La Ciotat", "13028"),
            ("la ciotat", "13028"),
            ("Ciotat", "13028"),
            ("L'Isle-sur-la-Sorgue", "84054"),
            ("Isle sur la Sorgue", "84054"),
            // Saints abbreviated, as people write them.
            ("St Cannat", "13091"),
            ("st-cannat", "13091"),
            // The name as typed before a more populous one with an article.
            ("Pin", "70410"),
            ("Le Pin", "77363"),
        ] {
            let found = referentials.communes_named(typed);
            assert_eq!(
                found.first().map(|c| c.code.as_str()),
                Some(code),
                "{typed}"
            );
        }
        for typed in ["Les Pennes-Mirabeau", "les pennes mirabeau (13)"] {
            let found = referentials.communes_named(typed);
            assert_eq!(
                found.first().map(|c| c.code.as_str()),
                Some("13071"),
                "{typed}"
            );
        }
    }

    #[test]
    fn shipped_referentials_parse_completely() {
        let referentials = Referentials::parse().expect("referentials parse");
        assert_eq!(referentials.communes.len(), 34_915);
        assert_eq!(referentials.jobs.len(), 1_584);
        assert_eq!(referentials.sectors.len(), 89);
        let aix = referentials.commune("13001").expect("Aix-en-Provence");
        assert_eq!(aix.name, "Aix-en-Provence");
        assert!(aix.postal_codes.contains(&"13090".to_owned()));
        assert_eq!(city_of_arrondissement("13201"), Some("13055"));
        assert_eq!(city_of_arrondissement("13001"), None);
        // Labels as INSEE writes them, accents included: pages show them.
        let label = |code: &str| {
            let sector = referentials.sectors.iter().find(|s| s.code == code);
            sector.map(|s| s.label.as_str())
        };
        assert_eq!(label("42"), Some("Génie civil"));
        assert_eq!(label("55"), Some("Hébergement"));
    }
}
