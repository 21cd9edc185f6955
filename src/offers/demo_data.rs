//! Deterministic demo offers in the France Travail "Offres d'emploi v2"
//! shape, located around Aix-en-Provence, for the demo and for benchmarks.
//! Offers are made one at a time from a seeded ChaCha stream, so a million of
//! them can be streamed without being held in memory, and the same
//! (count, seed, now) always gives the same bytes.

use std::f64::consts::TAU;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write as _};

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeDelta, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use crate::referentials::{self, CONTRACT_NATURES, CONTRACT_TYPES, Referentials};
use crate::search::geo::haversine_km;

/// Writes `count` offers as JSON Lines (one offer object per line) to `out`.
pub fn write_offers(
    out: &mut impl io::Write,
    count: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(1 << 16, out);
    for offer in DemoOffers::new(count, seed, now) {
        serde_json::to_writer(&mut writer, &offer)?;
        writer.write_all(b"\n")?;
    }
    writer.flush()
}

/// The generator as an iterator, for in-process loading (same offers as
/// `write_offers` for the same inputs).
pub struct DemoOffers {
    rng: ChaCha8Rng,
    next: usize,
    count: usize,
    /// `now` without its sub-seconds, so that printed dates never pass it.
    now: DateTime<Utc>,
    places: Vec<Place>,
    /// Running sum of populations, for a weighted pick by binary search.
    place_weights: Vec<u64>,
    jobs: Vec<JobForms>,
    /// Indexes into `jobs` of the trades that fill most real offers.
    common_jobs: Vec<usize>,
}

impl DemoOffers {
    pub fn new(count: usize, seed: u64, now: DateTime<Utc>) -> DemoOffers {
        let refs = referentials::get();
        let (places, place_weights) = places(refs);
        let jobs = job_forms(refs);
        let common_jobs = jobs
            .iter()
            .enumerate()
            .filter(|(_, job)| COMMON_JOBS.contains(&job.code))
            .map(|(index, _)| index)
            .collect();
        DemoOffers {
            rng: ChaCha8Rng::seed_from_u64(seed),
            next: 0,
            count,
            now: now.trunc_subsecs(0),
            places,
            place_weights,
            jobs,
            common_jobs,
        }
    }
}

impl Iterator for DemoOffers {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if self.next >= self.count {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(self.offer(index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for DemoOffers {}

// ---------------------------------------------------------------------------
// Places and agencies

/// Aix-en-Provence town hall: the centre of the demo area.
const AIX: (f64, f64) = (43.52994, 5.44765);
const AREA_RADIUS_KM: f64 = 45.0;
const AIX_NORTH_AGENCY: &str = "13013";
const AIX_SOUTH_AGENCY: &str = "13483";
const VAUCLUSE_AGENCY: &str = "84526";
/// Towns holding an agency; a commune goes to the nearest one.
const AGENCY_TOWNS: &[(&str, Agency)] = &[
    ("13001", Agency::AixSplit),
    ("13041", Agency::Code("13181")),
    ("13117", Agency::Code("13501")),
    ("13054", Agency::Code("13196")),
    ("84089", Agency::Code(VAUCLUSE_AGENCY)),
];

#[derive(Clone, Copy)]
enum Agency {
    Code(&'static str),
    /// Aix has two agencies, split by latitude around the town hall.
    AixSplit,
}

struct Place {
    code: &'static str,
    postal_codes: &'static [String],
    latitude: f64,
    longitude: f64,
    /// "13 - Aix-en-Provence"
    libelle: String,
    /// The town as said in running text.
    city: String,
    /// "à Aix-en-Provence", "au Puy-Sainte-Réparade"
    at_city: String,
    /// "d'Aix-en-Provence", "des Pennes-Mirabeau"
    of_city: String,
    agency: Agency,
}

fn places(refs: &'static Referentials) -> (Vec<Place>, Vec<u64>) {
    let towns: Vec<(f64, f64, Agency)> = AGENCY_TOWNS
        .iter()
        .filter_map(|&(code, agency)| {
            refs.commune(code)
                .map(|town| (town.latitude, town.longitude, agency))
        })
        .collect();
    let mut places = Vec::new();
    let mut weights = Vec::new();
    let mut total = 0u64;
    for commune in &refs.communes {
        // Marseille has agencies of its own: neither it nor its arrondissements
        // belong to the Pays d'Aix.
        let in_area = (commune.department == "13" || commune.department == "84")
            && !commune.is_arrondissement
            && commune.code != "13055"
            && !commune.postal_codes.is_empty()
            && commune.population > 0
            && haversine_km(AIX, (commune.latitude, commune.longitude)) <= AREA_RADIUS_KM;
        if !in_area {
            continue;
        }
        let city = commune.name.clone();
        let agency = if commune.department == "84" {
            Agency::Code(VAUCLUSE_AGENCY)
        } else {
            nearest_agency(&towns, commune.latitude, commune.longitude)
        };
        let (at_city, of_city) = place_prepositions(&city);
        total += commune.population;
        weights.push(total);
        places.push(Place {
            code: &commune.code,
            postal_codes: &commune.postal_codes,
            latitude: commune.latitude,
            longitude: commune.longitude,
            libelle: format!("{} - {}", commune.department, commune.name),
            city,
            at_city,
            of_city,
            agency,
        });
    }
    (places, weights)
}

fn nearest_agency(towns: &[(f64, f64, Agency)], latitude: f64, longitude: f64) -> Agency {
    towns
        .iter()
        .map(|&(lat, lon, agency)| (haversine_km((lat, lon), (latitude, longitude)), agency))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(Agency::AixSplit, |(_, agency)| agency)
}

/// Great-circle distance (haversine).
fn place_prepositions(city: &str) -> (String, String) {
    if let Some(rest) = city.strip_prefix("Les ") {
        (format!("aux {rest}"), format!("des {rest}"))
    } else if let Some(rest) = city.strip_prefix("Le ") {
        (format!("au {rest}"), format!("du {rest}"))
    } else {
        (format!("à {city}"), with_de(city))
    }
}

/// "de" with elision before a vowel or a mute h.
fn with_de(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouyhàâéèêëîïôœAEIOUYHÀÂÉÈÊËÎÏÔŒ".contains(c));
    if vowel {
        format!("d'{word}")
    } else {
        format!("de {word}")
    }
}

fn round5(value: f64) -> f64 {
    (value * 100_000.0).round() / 100_000.0
}

// ---------------------------------------------------------------------------
// Jobs

/// Trades that make up a large share of real offers in the area.
const COMMON_JOBS: &[&str] = &[
    "A1203", "D1106", "D1214", "D1401", "D1502", "D1505", "D1507", "F1106", "F1602", "F1603",
    "F1703", "G1501", "G1602", "G1603", "G1801", "G1803", "H2913", "H3302", "I1304", "I1604",
    "J1301", "J1304", "J1501", "J1506", "K1207", "K1302", "K1303", "K1304", "K2111", "K2204",
    "K2503", "M1203", "M1602", "M1606", "M1607", "M1805", "N1101", "N1103", "N1105", "N4101",
    "N4105",
];

struct JobForms {
    code: &'static str,
    label: &'static str,
    masculine: String,
    feminine: String,
    /// Masculine form for running text: "électricien du bâtiment".
    noun: String,
    /// "d'électricien du bâtiment", after "poste".
    of_noun: String,
    /// NAF divisions with their labels ("00", transverse, is not one).
    sectors: Vec<(&'static str, &'static str)>,
    /// Engineers, managers, experts: mostly "Cadre" offers.
    senior: bool,
}

const SENIOR_TITLES: &[&str] = &[
    "Ingénieur",
    "Directeur",
    "Responsable",
    "Chef de projet",
    "Expert",
    "Consultant",
    "Architecte",
    "Médecin",
    "Juriste",
    "Cadre",
    "Manager",
    "Chargé d'études",
    "Avocat",
    "Pharmacien",
    "Chercheur",
    "Professeur",
    "Enseignant",
];

fn job_forms(refs: &'static Referentials) -> Vec<JobForms> {
    let mut sector_labels: [Option<&'static str>; 100] = [None; 100];
    for sector in &refs.sectors {
        if let Ok(number) = sector.code.parse::<usize>()
            && number < 100
        {
            sector_labels[number] = Some(sector.label.as_str());
        }
    }
    refs.jobs
        .iter()
        .map(|job| {
            let (masculine, feminine) = gendered_forms(&job.label);
            let noun = lower_first(&masculine);
            let of_noun = with_de(&noun);
            let sectors = job
                .sectors
                .iter()
                .filter(|code| code.as_str() != "00")
                .filter_map(|code| {
                    let label = sector_labels[code.parse::<usize>().ok().filter(|&n| n < 100)?]?;
                    Some((code.as_str(), label))
                })
                .collect();
            JobForms {
                code: &job.code,
                label: &job.label,
                masculine,
                feminine,
                noun,
                of_noun,
                sectors,
                senior: SENIOR_TITLES
                    .iter()
                    .any(|title| job.label.starts_with(title)),
            }
        })
        .collect()
}

/// Splits "Ouvrier forestier / Ouvrière forestière de chantier" into its
/// masculine and feminine titles; the words after the feminine head are the
/// shared complement.
fn gendered_forms(label: &str) -> (String, String) {
    let Some((left, right)) = label.split_once(" / ") else {
        return (label.to_owned(), label.to_owned());
    };
    let head_words = left.split(' ').count();
    let complement = right
        .match_indices(' ')
        .nth(head_words - 1)
        .map_or("", |(at, _)| &right[at..]);
    (format!("{left}{complement}"), right.to_owned())
}

/// Lower-cases the first letter unless the word is an acronym ("DJ").
fn lower_first(word: &str) -> String {
    let mut chars = word.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(word[first.len_utf8()..].chars())
            .collect(),
        _ => word.to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Random helpers

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Picks `(item, weight)` pairs by weight; `items` is a non-empty constant.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|&(_, weight)| weight).sum();
    let mut draw = rng.random_range(0..total);
    for &(item, weight) in items {
        if draw < weight {
            return item;
        }
        draw -= weight;
    }
    items[items.len() - 1].0
}

fn percent(rng: &mut ChaCha8Rng, chance: u32) -> bool {
    rng.random_range(0..100) < chance
}

// ---------------------------------------------------------------------------
// Offer ids

/// 3 digits then 4 base-36 characters: 1000 × 36⁴ distinct ids.
const ID_SPACE: u64 = 1000 * 36 * 36 * 36 * 36;
/// Coprime with ID_SPACE (2¹¹·3⁸·5³), so `i ↦ i·M + K mod ID_SPACE` is a
/// bijection: ids stay unique for any index below 1.6 billion while looking
/// scattered like real ones.
const ID_MULTIPLIER: u64 = 1_000_000_007;
const ID_OFFSET: u64 = 734_115_921;

fn offer_id(index: usize) -> String {
    const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let scrambled =
        (index as u128 * u128::from(ID_MULTIPLIER) + u128::from(ID_OFFSET)) % u128::from(ID_SPACE);
    let scrambled = scrambled as u64;
    let mut id = String::with_capacity(7);
    let _ = write!(id, "{:03}", scrambled % 1000);
    let mut rest = scrambled / 1000;
    let mut tail = [b'0'; 4];
    for slot in tail.iter_mut().rev() {
        *slot = BASE36[(rest % 36) as usize];
        rest /= 36;
    }
    id.extend(tail.iter().map(|&b| b as char));
    id
}

// ---------------------------------------------------------------------------
// Contracts, experience, qualification, pay, working time

const CONTRACT_WEIGHTS: &[(&str, u32)] = &[
    ("CDI", 400),
    ("CDD", 300),
    ("MIS", 180),
    ("SAI", 50),
    ("DDI", 25),
    ("TTI", 25),
    ("DIN", 10),
    ("LIB", 3),
    ("CCE", 3),
    ("FRA", 2),
    ("REP", 2),
];

/// Natures of aided contracts, by code in CONTRACT_NATURES.
const AIDED_NATURES: &[(&str, u32)] = &[("FV", 70), ("FU", 15), ("FA", 10), ("FT", 5)];

fn contract_label(code: &str) -> &'static str {
    CONTRACT_TYPES
        .iter()
        .find(|kind| kind.code == code)
        .map_or("Contrat à durée déterminée", |kind| kind.label)
}

fn nature_label(code: &str) -> &'static str {
    CONTRACT_NATURES
        .iter()
        .find(|nature| nature.code == code)
        .map_or("Contrat travail", |nature| nature.label)
}

#[derive(Clone, Copy)]
enum Length {
    None,
    Days(u32),
    Months(u32),
}

fn contract_length(rng: &mut ChaCha8Rng, kind: &str, alternance: bool) -> Length {
    match kind {
        "CDD" if alternance => Length::Months(*pick(rng, &[12, 24, 24, 36])),
        "CDD" if percent(rng, 15) => Length::Days(rng.random_range(5..=30)),
        "CDD" => Length::Months(*pick(rng, &[1, 2, 3, 3, 4, 6, 6, 6, 8, 9, 12, 12, 18])),
        "MIS" if percent(rng, 50) => Length::Days(rng.random_range(1..=30)),
        "MIS" => Length::Months(rng.random_range(1..=6)),
        "SAI" => Length::Months(*pick(rng, &[1, 2, 2, 3, 3, 4, 4, 5, 6])),
        "DDI" => Length::Months(*pick(rng, &[4, 6, 6, 12, 24])),
        "TTI" => Length::Months(rng.random_range(1..=6)),
        _ => Length::None,
    }
}

/// How the contract is said in a sentence: "en CDD de 6 mois".
fn contract_phrase(kind: &str, length: Length, alternance: bool) -> String {
    if alternance {
        return "en alternance".to_owned();
    }
    let base = match kind {
        "CDI" => "en CDI",
        "CDD" => "en CDD",
        "MIS" => "en mission d'intérim",
        "SAI" => "en contrat saisonnier",
        "DDI" => "en CDD d'insertion",
        "TTI" => "en contrat de travail temporaire d'insertion",
        "DIN" => "en CDI intérimaire",
        _ => "sous statut indépendant",
    };
    match length {
        Length::None => base.to_owned(),
        Length::Days(days) => format!("{base} de {days} jours"),
        Length::Months(months) => format!("{base} de {months} mois"),
    }
}

/// Qualification levels by weight for most trades; about 2 % "Cadre".
const QUALIFICATIONS: &[((&str, &str), u32)] = &[
    (("1", "Manœuvre"), 3),
    (("2", "Ouvrier spécialisé"), 6),
    (("3", "Ouvrier qualifié (P1,P2)"), 8),
    (("4", "Ouvrier qualifié (P3,P4,OHQ)"), 8),
    (("5", "Employé non qualifié"), 15),
    (("6", "Employé qualifié"), 36),
    (("7", "Technicien"), 13),
    (("8", "Agent de maîtrise"), 9),
    (("9", "Cadre"), 2),
];

/// For senior jobs, so that overall about 8 % of offers are for a "Cadre"
/// and no plumber is hired as one on 47 k€.
const SENIOR_QUALIFICATIONS: &[((&str, &str), u32)] = &[
    (("6", "Employé qualifié"), 10),
    (("7", "Technicien"), 20),
    (("8", "Agent de maîtrise"), 15),
    (("9", "Cadre"), 55),
];

fn experience(rng: &mut ChaCha8Rng, alternance: bool) -> (&'static str, String) {
    let code = if alternance {
        "D"
    } else {
        weighted(rng, &[("D", 38), ("S", 27), ("E", 35)])
    };
    let word = match code {
        "D" => return (code, "Débutant accepté".to_owned()),
        "S" => "souhaitée",
        _ => "exigée",
    };
    let libelle = if percent(rng, 30) {
        let months = *pick(rng, &[1, 2, 3, 6, 6, 6, 9]);
        format!("Expérience {word} de {months} Mois")
    } else {
        let years = weighted(
            rng,
            &[
                (1, 30),
                (2, 25),
                (3, 18),
                (4, 5),
                (5, 12),
                (6, 2),
                (7, 2),
                (8, 2),
                (10, 4),
            ],
        );
        format!("Expérience {word} de {years} An(s)")
    };
    (code, libelle)
}

fn euros(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A `salaire` libelle, or None for an offer that states no pay.
fn salary(
    rng: &mut ChaCha8Rng,
    qualification: Option<&str>,
    kind: &str,
    hundredths_of_hours: u64,
) -> Option<String> {
    if percent(rng, 15) {
        return None;
    }
    if qualification == Some("9") {
        let low = rng.random_range(32..=55u64) * 1000;
        let months = weighted(rng, &[(12, 80), (13, 20)]);
        return Some(if percent(rng, 70) {
            let high = low + rng.random_range(2..=8u64) * 1000;
            format!(
                "Annuel de {} Euros à {} Euros sur {months} mois",
                euros(low * 100),
                euros(high * 100)
            )
        } else {
            format!("Annuel de {} Euros sur {months} mois", euros(low * 100))
        });
    }
    let (low, high) = match qualification {
        Some("1" | "2") => (1188, 1250),
        Some("3" | "5") => (1188, 1350),
        Some("4") => (1250, 1550),
        Some("6") => (1200, 1500),
        Some("7") => (1450, 1950),
        Some("8") => (1600, 2200),
        _ => (1188, 1500),
    };
    let hourly: u64 = rng.random_range(low..=high);
    let ranged = percent(rng, 30);
    if matches!(kind, "MIS" | "SAI") || percent(rng, 20) {
        return Some(if ranged {
            let top = hourly + rng.random_range(20..=200u64);
            format!("Horaire de {} Euros à {} Euros", euros(hourly), euros(top))
        } else {
            format!("Horaire de {} Euros", euros(hourly))
        });
    }
    // Monthly pay: hourly rate × weekly hours × 52 / 12, often rounded to the euro.
    let mut monthly = hourly * hundredths_of_hours * 52 / 1200;
    if percent(rng, 70) {
        monthly = monthly / 100 * 100;
    }
    let months = weighted(rng, &[(12, 80), (13, 16), (14, 4)]);
    Some(if ranged {
        let top = (monthly + rng.random_range(100..=600u64) * 100) / 100 * 100;
        format!(
            "Mensuel de {} Euros à {} Euros sur {months} mois",
            euros(monthly),
            euros(top)
        )
    } else {
        format!("Mensuel de {} Euros sur {months} mois", euros(monthly))
    })
}

/// Working-time kinds as France Travail words them, with how a sentence says them.
const SCHEDULES: &[((&str, &[&str]), u32)] = &[
    (
        (
            "Horaires normaux",
            &[
                "du lundi au vendredi",
                "en horaires de bureau",
                "du lundi au vendredi, de 8h à 16h",
            ],
        ),
        50,
    ),
    (
        (
            "Travail en journée",
            &["en journée, du lundi au vendredi", "en journée continue"],
        ),
        20,
    ),
    (
        (
            "Travail en équipe",
            &[
                "en équipes alternées (2x8)",
                "en 3x8 avec rotation hebdomadaire",
            ],
        ),
        8,
    ),
    (
        (
            "Travail samedi",
            &["du mardi au samedi", "du lundi au samedi matin"],
        ),
        7,
    ),
    (
        (
            "Travail samedi et dimanche",
            &[
                "selon un planning incluant les week-ends",
                "un week-end sur deux",
            ],
        ),
        5,
    ),
    (
        (
            "Travail en horaires décalés",
            &[
                "en horaires décalés (5h-13h / 13h-21h)",
                "en coupure, matin et fin de journée",
            ],
        ),
        6,
    ),
    (
        (
            "Travail de nuit",
            &[
                "de nuit, de 21h à 5h",
                "de nuit, du dimanche soir au jeudi soir",
            ],
        ),
        4,
    ),
];

const FULL_TIME_HOURS: &[((u64, &str), u32)] = &[
    ((3500, "35H"), 70),
    ((3900, "39H"), 14),
    ((3600, "36H"), 4),
    ((3700, "37H"), 4),
    ((3750, "37H30"), 4),
    ((3800, "38H"), 4),
];

// ---------------------------------------------------------------------------
// Employers

const FAMILY_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Roux",
    "Fabre",
    "Blanc",
    "Garcia",
    "Michel",
    "Giraud",
    "Arnaud",
    "Olivier",
    "Mercier",
    "Bonnet",
    "Gauthier",
    "Lambert",
    "Faure",
    "Rey",
    "Chabert",
    "Meyer",
    "Ricci",
    "Esposito",
    "Mendes",
    "Benali",
    "Nguyen",
    "Lopez",
    "Sanchez",
    "Brun",
    "Jullien",
    "Roche",
    "Imbert",
    "Audibert",
    "Pellegrin",
    "Castellan",
    "Marchetti",
    "Ferrand",
    "Rostan",
    "Guigou",
    "Barbier",
    "Aubert",
    "Reynaud",
    "Caillol",
];

const AREA_NAMES: &[&str] = &[
    "de Provence",
    "du Pays d'Aix",
    "Sainte-Victoire",
    "Méditerranée",
    "du Sud",
    "de la Durance",
    "du Luberon",
    "de l'Arc",
    "de l'Étang",
    "des Calanques",
    "Sud Provence",
    "Grand Sud",
];

const LEGAL_FORMS: &[&str] = &["SARL", "SAS", "SASU", "EURL", "SCOP"];

const INTERIM_ACTIVITIES: &[&str] = &["Intérim", "Travail Temporaire", "Emploi", "RH Services"];

/// Kinds of business by ROME domain (the code's first letter).
fn activities(rome_code: &str) -> &'static [&'static str] {
    match rome_code.as_bytes().first() {
        Some(b'A') => &[
            "Domaine",
            "Pépinières",
            "Jardins",
            "Paysages",
            "Vergers",
            "Espaces Verts",
        ],
        Some(b'B') => &["Atelier", "Créations", "Art et Design"],
        Some(b'C') => &["Cabinet", "Assurances", "Immobilier", "Courtage"],
        Some(b'D') => &[
            "Boulangerie",
            "Boucherie",
            "Épicerie",
            "Supermarché",
            "Boutique",
            "Primeurs",
            "Magasin",
        ],
        Some(b'E') => &["Agence", "Imprimerie", "Studio", "Communication"],
        Some(b'F') => &[
            "Bâtiment",
            "Construction",
            "Électricité",
            "Plomberie",
            "Maçonnerie",
            "Rénovation",
            "Travaux",
        ],
        Some(b'G') => &[
            "Hôtel",
            "Restaurant",
            "Brasserie",
            "Camping",
            "Traiteur",
            "Bistrot",
        ],
        Some(b'H') => &[
            "Industries",
            "Mécanique",
            "Usinage",
            "Plasturgie",
            "Chaudronnerie",
            "Conditionnement",
        ],
        Some(b'I') => &[
            "Maintenance",
            "Garage",
            "Climatisation",
            "Dépannage",
            "Ascenseurs",
        ],
        Some(b'J') => &[
            "Clinique",
            "Pharmacie",
            "EHPAD",
            "Cabinet médical",
            "Centre de soins",
            "Laboratoire",
        ],
        Some(b'K') => &[
            "Association",
            "Aide à Domicile",
            "Services",
            "Crèche",
            "Propreté",
            "Sécurité",
            "Formation",
        ],
        Some(b'L') => &["Compagnie", "Productions", "Théâtre", "Festival"],
        Some(b'M') => &[
            "Conseil",
            "Solutions",
            "Informatique",
            "Expertise Comptable",
            "Consulting",
            "Gestion",
        ],
        Some(b'N') => &[
            "Transports",
            "Logistique",
            "Déménagements",
            "Messagerie",
            "Fret",
        ],
        _ => &["Services", "Groupe"],
    }
}

fn company_name(rng: &mut ChaCha8Rng, rome_code: &str, kind: &str) -> String {
    let activities = if kind == "MIS" && percent(rng, 60) {
        INTERIM_ACTIVITIES
    } else {
        activities(rome_code)
    };
    let activity = *pick(rng, activities);
    let family = *pick(rng, FAMILY_NAMES);
    let name = match rng.random_range(0..100) {
        0..25 => format!("{activity} {family}"),
        25..45 => format!("{activity} {}", pick(rng, AREA_NAMES)),
        45..57 => format!("{} {family} et Fils", pick(rng, LEGAL_FORMS)),
        57..67 => format!("{family} {activity}"),
        67..77 => {
            let mut acronym: String = (0..rng.random_range(2..=4))
                .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
                .collect();
            acronym.push(' ');
            acronym.push_str(activity);
            acronym
        }
        77..85 => format!("Groupe {family}"),
        85..93 => format!("{activity} {family} {}", pick(rng, LEGAL_FORMS)),
        _ => format!(
            "{} {family}-{}",
            pick(rng, LEGAL_FORMS),
            pick(rng, FAMILY_NAMES)
        ),
    };
    // Many employers are registered in capitals.
    if percent(rng, 30) {
        name.to_uppercase()
    } else {
        name
    }
}

// ---------------------------------------------------------------------------
// Skills

const SKILLS: &[(&str, &str)] = &[
    ("104213", "Accueillir une clientèle"),
    ("117390", "Respecter les règles d'hygiène et de sécurité"),
    ("121588", "Utiliser des outils bureautiques"),
    ("103876", "Travailler en équipe"),
    ("125014", "Organiser son poste de travail"),
    (
        "108652",
        "Conseiller un client sur un produit ou un service",
    ),
    ("112447", "Encaisser un paiement"),
    ("119023", "Réaliser un inventaire"),
    ("106731", "Préparer des commandes"),
    ("123905", "Conduire un chariot élévateur (CACES R489)"),
    ("101294", "Entretenir des locaux"),
    ("115862", "Lire un plan ou un schéma technique"),
    ("120477", "Réaliser un diagnostic de panne"),
    ("109318", "Rédiger un compte rendu"),
    ("126540", "Gérer un planning"),
    ("113081", "Saisir des données informatiques"),
    ("118259", "Assurer la traçabilité des opérations"),
    ("102746", "Contrôler la conformité d'un produit"),
    (
        "124398",
        "Accompagner une personne dans les actes de la vie quotidienne",
    ),
    ("107165", "Préparer des repas"),
    ("111923", "Réceptionner et contrôler des marchandises"),
    ("116604", "Mettre en rayon des produits"),
    ("122831", "Utiliser un logiciel de gestion"),
    ("105570", "Réaliser des travaux de finition"),
    (
        "127216",
        "Effectuer la maintenance préventive d'un équipement",
    ),
    ("110089", "Animer une réunion"),
    ("114725", "Gérer la relation avec les fournisseurs"),
    ("119784", "Établir un devis"),
    ("103152", "Appliquer les gestes et postures de sécurité"),
    ("125967", "Conduire un véhicule léger"),
    ("108029", "Trier et évacuer des déchets"),
    ("112860", "Répondre aux appels téléphoniques"),
    ("117713", "Suivre l'état des stocks"),
    ("101938", "Former un nouveau collaborateur"),
    ("123342", "Appliquer une procédure qualité"),
    ("106407", "Réaliser des soins d'hygiène et de confort"),
    ("120915", "Nettoyer et désinfecter du matériel"),
    ("109644", "Vérifier l'état de fonctionnement d'un véhicule"),
    ("115198", "Tenir une caisse"),
    (
        "126073",
        "Échanger en anglais dans un contexte professionnel",
    ),
];

fn skills(rng: &mut ChaCha8Rng) -> Option<Value> {
    let wanted = weighted(rng, &[(0usize, 20), (1, 20), (2, 25), (3, 20), (4, 15)]);
    if wanted == 0 {
        return None;
    }
    let mut chosen: Vec<usize> = Vec::with_capacity(wanted);
    while chosen.len() < wanted {
        let index = rng.random_range(0..SKILLS.len());
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    let list = chosen
        .into_iter()
        .map(|index| {
            let (code, libelle) = SKILLS[index];
            let exigence = if percent(rng, 55) { "E" } else { "S" };
            json!({ "code": code, "libelle": libelle, "exigence": exigence })
        })
        .collect();
    Some(Value::Array(list))
}

// ---------------------------------------------------------------------------
// Descriptions

/// Which experience a profile sentence fits, so that a text never asks for
/// experience on a beginners' offer or the reverse.
#[derive(Clone, Copy, PartialEq)]
enum Fits {
    Any,
    Beginners,
    Experienced,
}

const MISSIONS: &[&str] = &[
    "Nous recherchons un(e) {metier} (H/F) pour renforcer notre équipe {a_ville}.",
    "Dans le cadre de notre développement, nous recrutons un(e) {metier} (H/F) {contrat}.",
    "Vous occupez le poste {poste} et prenez en charge les missions courantes du métier au sein d'une équipe de {equipe} personnes.",
    "Rattaché(e) au responsable d'exploitation, vous assurez les missions {poste} sur notre site {de_ville}.",
    "Votre mission principale : assurer les activités {poste} dans le respect des règles d'hygiène et de sécurité.",
    "Poste {poste} à pourvoir {contrat} {a_ville}.",
    "Vous rejoignez une équipe dynamique {a_ville} pour un poste {poste} {contrat}.",
    "Pour accompagner la hausse d'activité, notre client recherche un(e) {metier} (H/F) {a_ville}.",
    "Sous la responsabilité du chef d'équipe, vous exercez le métier {poste} et veillez à la qualité du travail rendu.",
    "Vous serez chargé(e) des missions {poste} : organisation de votre poste, réalisation des tâches et compte rendu à votre responsable.",
    "Entreprise située {a_ville} recrute un(e) {metier} (H/F) pour un démarrage rapide.",
    "En binôme puis en autonomie, vous assurez les fonctions {poste} auprès de notre clientèle.",
    "Nous vous proposons de rejoindre notre équipe en qualité {poste}, {contrat}.",
    "En tant que membre de l'équipe, vous exercez le métier {poste} principalement autour {de_ville} et dans les communes voisines.",
    "Nous créons un poste {poste} pour accompagner l'ouverture de notre nouvel établissement {a_ville}.",
    "Au sein d'une structure à taille humaine, vous prenez en charge les missions {poste} de A à Z.",
    "Vous aimez le terrain ? Nous recherchons un(e) {metier} (H/F) pour intervenir chez nos clients du secteur {de_ville}.",
];

const PROFILES: &[(&str, Fits)] = &[
    (
        "Vous êtes rigoureux(se), ponctuel(le) et appréciez le travail en équipe.",
        Fits::Any,
    ),
    (
        "Une première expérience sur un poste similaire est un plus, mais votre motivation fera la différence.",
        Fits::Beginners,
    ),
    (
        "Vous justifiez d'une expérience réussie dans le métier et maîtrisez les règles de sécurité.",
        Fits::Experienced,
    ),
    (
        "Autonome et organisé(e), vous savez gérer les priorités.",
        Fits::Any,
    ),
    (
        "Le permis B est souhaité, les déplacements sur le secteur étant fréquents.",
        Fits::Any,
    ),
    (
        "Vous avez le sens du service et un bon relationnel avec la clientèle.",
        Fits::Any,
    ),
    (
        "Débutant(e) accepté(e) : une formation en interne est prévue à la prise de poste.",
        Fits::Beginners,
    ),
    (
        "Un diplôme de niveau CAP/BEP ou équivalent dans le domaine est apprécié.",
        Fits::Any,
    ),
    (
        "Vous êtes titulaire d'un bac professionnel ou d'une expérience équivalente.",
        Fits::Any,
    ),
    (
        "Votre sens de l'organisation et votre esprit d'équipe seront vos meilleurs atouts.",
        Fits::Any,
    ),
    (
        "Vous êtes à l'aise avec les outils informatiques courants.",
        Fits::Any,
    ),
    (
        "Dynamique et curieux(se), vous souhaitez vous investir sur la durée.",
        Fits::Any,
    ),
    (
        "La connaissance du secteur {de_ville} serait un plus.",
        Fits::Any,
    ),
    (
        "Vous savez travailler en autonomie tout en rendant compte à votre hiérarchie.",
        Fits::Experienced,
    ),
    (
        "Poste ouvert aux personnes en reconversion motivées par le métier.",
        Fits::Beginners,
    ),
    (
        "Une bonne condition physique est nécessaire pour ce poste.",
        Fits::Any,
    ),
    (
        "Vous faites preuve de discrétion et de bienveillance.",
        Fits::Any,
    ),
    (
        "Vous savez encadrer et transmettre votre savoir-faire aux plus jeunes.",
        Fits::Experienced,
    ),
];

const CONDITIONS: &[&str] = &[
    "Poste à pourvoir {contrat}, {horaires}.",
    "Horaires : {horaires}, soit {heures} par semaine.",
    "Rémunération selon profil et convention collective, avec mutuelle d'entreprise.",
    "Vous travaillez {horaires}, avec deux jours de repos consécutifs.",
    "Tickets restaurant, prime de fin d'année et participation aux frais de transport.",
    "Démarrage dès que possible, {horaires}.",
    "Le site est accessible en transports en commun depuis le centre {de_ville}.",
    "Véhicule de service mis à disposition pour les déplacements professionnels.",
    "Prime d'assiduité et heures supplémentaires majorées.",
    "Période d'essai de deux mois, formation assurée à l'arrivée.",
    "Travail {horaires}, {heures} hebdomadaires.",
    "Équipements de protection fournis par l'entreprise.",
    "Possibilité d'évolution vers un poste à responsabilités.",
    "Parking gratuit sur place.",
    "Comité d'entreprise, mutuelle et prévoyance prises en charge à 50 %.",
    "Rémunération attractive : fixe plus primes sur objectifs.",
    "Poste basé {a_ville}, {horaires}.",
];

const COMPANIES: &[&str] = &[
    "Entreprise familiale implantée {a_ville} depuis plus de {annees} ans, nous comptons {effectif} salariés.",
    "Notre société intervient auprès des particuliers et des professionnels du Pays d'Aix.",
    "Acteur reconnu de son secteur en Provence, notre groupe poursuit son développement.",
    "Nous sommes une PME de {effectif} salariés tournée vers la qualité de service.",
    "Structure associative, nous accompagnons chaque année plusieurs centaines de personnes sur le territoire.",
    "Rejoignez une équipe soudée où l'entraide et la bonne humeur font partie du quotidien.",
    "Créée en {creation}, {nom} compte aujourd'hui {effectif} collaborateurs.",
    "{Nom} est une entreprise indépendante, présente sur son marché depuis {annees} ans.",
    "Engagés dans une démarche RSE, nous privilégions le recrutement local.",
    "Notre établissement accueille une clientèle fidèle toute l'année.",
    "Nous faisons partie d'un réseau national présent dans plus de 50 villes.",
    "Implantés au cœur de la zone d'activités {de_ville}, nous travaillons avec des clients de toute la région.",
    "Entreprise en croissance, nous avons doublé nos effectifs en trois ans.",
    "Nous plaçons la formation et la sécurité de nos salariés au cœur de notre projet.",
    "{Nom} est signataire de la charte de la diversité et étudie toutes les candidatures.",
    "Notre agence {de_ville} recrute pour le compte d'entreprises clientes de la région.",
];

const CLOSINGS: &[&str] = &[
    "Poste à pourvoir dès que possible.",
    "Entretien rapide pour les candidatures retenues.",
    "Ce poste est ouvert à toutes et à tous, y compris aux personnes en situation de handicap.",
    "Merci de joindre un CV à jour à votre candidature.",
    "Les candidatures sont étudiées au fil de l'eau.",
];

/// Values substituted into the description templates.
struct Words<'a> {
    noun: &'a str,
    of_noun: &'a str,
    city: &'a str,
    at_city: &'a str,
    of_city: &'a str,
    contract: &'a str,
    schedule: &'a str,
    hours: &'a str,
    company: Option<&'a str>,
    team: u32,
    years: u32,
    staff: u32,
    founded: u32,
}

impl Words<'_> {
    fn render(&self, template: &str, out: &mut String) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                rest = &rest[open..];
                break;
            };
            self.push(&after[..close], out);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
    }

    fn push(&self, key: &str, out: &mut String) {
        match key {
            "metier" => out.push_str(self.noun),
            "poste" => out.push_str(self.of_noun),
            "ville" => out.push_str(self.city),
            "a_ville" => out.push_str(self.at_city),
            "de_ville" => out.push_str(self.of_city),
            "contrat" => out.push_str(self.contract),
            "horaires" => out.push_str(self.schedule),
            "heures" => out.push_str(self.hours),
            "nom" => out.push_str(self.company.unwrap_or("notre entreprise")),
            "Nom" => out.push_str(self.company.unwrap_or("Notre entreprise")),
            "equipe" => {
                let _ = write!(out, "{}", self.team);
            }
            "annees" => {
                let _ = write!(out, "{}", self.years);
            }
            "effectif" => {
                let _ = write!(out, "{}", self.staff);
            }
            "creation" => {
                let _ = write!(out, "{}", self.founded);
            }
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
    }
}

fn description(rng: &mut ChaCha8Rng, words: &Words, experience: &str) -> String {
    let unfit = match experience {
        "D" => Some(Fits::Experienced),
        "E" => Some(Fits::Beginners),
        _ => None,
    };
    let mut text = String::with_capacity(512);
    words.render(pick::<&str>(rng, MISSIONS), &mut text);
    let mut sentences: Vec<&str> = Vec::with_capacity(4);
    if percent(rng, 80) {
        let profile = loop {
            let (template, fits) = *pick(rng, PROFILES);
            if Some(fits) != unfit {
                break template;
            }
        };
        sentences.push(profile);
    }
    // At least two sentences: a mission alone says too little.
    if percent(rng, 70) || sentences.is_empty() {
        sentences.push(*pick(rng, CONDITIONS));
    }
    if percent(rng, 60) {
        sentences.push(*pick(rng, COMPANIES));
    }
    if percent(rng, 20) {
        sentences.push(*pick(rng, CLOSINGS));
    }
    for template in sentences {
        text.push(' ');
        words.render(template, &mut text);
    }
    text
}

// ---------------------------------------------------------------------------
// Titles

fn title(
    rng: &mut ChaCha8Rng,
    job: &JobForms,
    experience: &str,
    kind: &str,
    alternance: bool,
    full_time: bool,
    city: &str,
) -> String {
    let mut text = String::with_capacity(80);
    let form = weighted(rng, &[(0u8, 45), (1, 37), (2, 8), (3, 10)]);
    match form {
        0 | 3 => text.push_str(job.label),
        1 => text.push_str(&job.masculine),
        _ => text.push_str(&job.feminine),
    }
    if form == 1 && experience == "E" && percent(rng, 30) {
        text.push_str(pick::<&str>(
            rng,
            &[" expérimenté", " confirmé", " qualifié"],
        ));
    }
    // Form 3 is the bare label, as some employers write it.
    if form != 3 {
        text.push_str(if percent(rng, 85) { " (H/F)" } else { " H/F" });
    }
    if alternance && percent(rng, 60) {
        text.push_str(" en alternance");
    } else if kind == "CDI" && percent(rng, 15) {
        text.push_str(" - CDI");
    } else if !full_time && percent(rng, 15) {
        text.push_str(" - Temps partiel");
    } else if percent(rng, 8) {
        text.push_str(" - ");
        text.push_str(city);
    }
    if percent(rng, 5) {
        text = text.to_uppercase();
    }
    text
}

fn appellation(rng: &mut ChaCha8Rng, job: &JobForms) -> String {
    match rng.random_range(0..100) {
        0..65 => job.label.to_owned(),
        65..85 if job.masculine != job.feminine => {
            format!("{} / {}", job.masculine, job.feminine)
        }
        _ => job.masculine.clone(),
    }
}

// ---------------------------------------------------------------------------
// One offer

fn date_text(date: DateTime<Utc>, with_millis: bool) -> String {
    let format = if with_millis {
        SecondsFormat::Millis
    } else {
        SecondsFormat::Secs
    };
    date.to_rfc3339_opts(format, true)
}

impl DemoOffers {
    fn pick_place(&mut self) -> usize {
        let total = self.place_weights.last().copied().unwrap_or(1);
        let draw = self.rng.random_range(0..total);
        self.place_weights
            .partition_point(|&sum| sum <= draw)
            .min(self.places.len().saturating_sub(1))
    }

    fn pick_job(&mut self) -> usize {
        if !self.common_jobs.is_empty() && percent(&mut self.rng, 50) {
            *pick(&mut self.rng, &self.common_jobs)
        } else {
            self.rng.random_range(0..self.jobs.len())
        }
    }

    fn offer(&mut self, index: usize) -> Value {
        let place_index = self.pick_place();
        let job_index = self.pick_job();
        let rng = &mut self.rng;
        let place = &self.places[place_index];
        let job = &self.jobs[job_index];

        // Dates: created within the last 60 days, updated since.
        let created = self.now - TimeDelta::seconds(rng.random_range(0..60 * 86_400));
        let updated = if percent(rng, 45) {
            created
        } else {
            let since = (self.now - created).num_seconds();
            created + TimeDelta::seconds(rng.random_range(0..=since))
        };
        let with_millis = percent(rng, 85);

        // Place, with coordinates for most offers.
        let postal_code = pick(rng, place.postal_codes).as_str();
        let point = if percent(rng, 10) {
            None
        } else {
            let distance_km = 1.9 * rng.random::<f64>().sqrt();
            let angle = rng.random::<f64>() * TAU;
            let latitude = place.latitude + distance_km * angle.cos() / 111.32;
            let longitude = place.longitude
                + distance_km * angle.sin() / (111.32 * place.latitude.to_radians().cos());
            Some((round5(latitude), round5(longitude)))
        };
        let agency = match place.agency {
            Agency::Code(code) => code,
            Agency::AixSplit => {
                let latitude = point.map_or(place.latitude, |(lat, _)| lat);
                if latitude > AIX.0 {
                    AIX_NORTH_AGENCY
                } else if latitude < AIX.0 || percent(rng, 50) {
                    AIX_SOUTH_AGENCY
                } else {
                    AIX_NORTH_AGENCY
                }
            }
        };

        // Contract.
        let kind = weighted(rng, CONTRACT_WEIGHTS);
        let iae = matches!(kind, "DDI" | "TTI");
        let mut aided = false;
        let mut alternance = false;
        let nature = if iae {
            nature_label("I1")
        } else if matches!(kind, "LIB" | "CCE" | "FRA" | "REP") {
            nature_label("NS")
        } else if matches!(kind, "CDI" | "CDD") {
            // 11.5 % and 8.5 % of the 70 % of CDI/CDD: about 8 % aided, 6 % alternance.
            match rng.random_range(0..1000) {
                0..115 => {
                    aided = true;
                    nature_label(weighted(rng, AIDED_NATURES))
                }
                115..200 => {
                    alternance = true;
                    nature_label(if percent(rng, 65) { "E2" } else { "FS" })
                }
                _ => nature_label("E1"),
            }
        } else {
            nature_label("E1")
        };
        let length = contract_length(rng, kind, alternance);
        let kind_label = match length {
            Length::None => contract_label(kind).to_owned(),
            Length::Days(days) => format!("{} - {days} Jour(s)", contract_label(kind)),
            Length::Months(months) => format!("{} - {months} Mois", contract_label(kind)),
        };

        let (experience_code, experience_label) = experience(rng, alternance);
        let qualification = if percent(rng, 8) {
            None
        } else {
            Some(weighted(
                rng,
                if job.senior {
                    SENIOR_QUALIFICATIONS
                } else {
                    QUALIFICATIONS
                },
            ))
        };

        // Working time.
        let full_time = percent(rng, 80);
        let (hours, hours_text) = if full_time {
            let (hours, text) = weighted(rng, FULL_TIME_HOURS);
            (hours, text.to_owned())
        } else {
            let whole = rng.random_range(8..=30u64);
            if percent(rng, 15) {
                (whole * 100 + 50, format!("{whole}H30"))
            } else {
                (whole * 100, format!("{whole}H"))
            }
        };
        let (schedule_kind, schedule_phrases) = weighted(rng, SCHEDULES);
        let schedule = *pick(rng, schedule_phrases);
        let salary = salary(rng, qualification.map(|(code, _)| code), kind, hours);

        let company = if percent(rng, 15) {
            None
        } else {
            Some(company_name(rng, job.code, kind))
        };
        let sector = if percent(rng, 90) && !job.sectors.is_empty() {
            Some(*pick(rng, &job.sectors))
        } else {
            None
        };

        let contract = contract_phrase(kind, length, alternance);
        let hours_words = hours_text.to_lowercase();
        let words = Words {
            noun: &job.noun,
            of_noun: &job.of_noun,
            city: &place.city,
            at_city: &place.at_city,
            of_city: &place.of_city,
            contract: &contract,
            schedule,
            hours: &hours_words,
            company: company.as_deref(),
            team: rng.random_range(3..=15),
            years: rng.random_range(5..=60),
            staff: rng.random_range(10..=250),
            founded: rng.random_range(1960..=2020),
        };
        let description = description(rng, &words, experience_code);
        let intitule = title(
            rng,
            job,
            experience_code,
            kind,
            alternance,
            full_time,
            &place.city,
        );
        let appellation = appellation(rng, job);
        let skills = skills(rng);
        let positions = weighted(rng, &[(1u32, 80), (2, 10), (3, 5), (4, 3), (5, 2)]);

        let mut lieu = Map::new();
        lieu.insert("libelle".into(), Value::from(place.libelle.as_str()));
        if let Some((latitude, longitude)) = point {
            lieu.insert("latitude".into(), Value::from(latitude));
            lieu.insert("longitude".into(), Value::from(longitude));
        }
        lieu.insert("codePostal".into(), Value::from(postal_code));
        lieu.insert("commune".into(), Value::from(place.code));

        let mut entreprise = Map::new();
        if let Some(name) = company {
            entreprise.insert("nom".into(), Value::from(name));
        }

        let mut salaire = Map::new();
        if let Some(libelle) = salary {
            salaire.insert("libelle".into(), Value::from(libelle));
        }

        let mut offer = Map::new();
        offer.insert("id".into(), Value::from(offer_id(index)));
        offer.insert("intitule".into(), Value::from(intitule));
        offer.insert("description".into(), Value::from(description));
        offer.insert(
            "dateCreation".into(),
            Value::from(date_text(created, with_millis)),
        );
        offer.insert(
            "dateActualisation".into(),
            Value::from(date_text(updated, with_millis)),
        );
        offer.insert("lieuTravail".into(), Value::Object(lieu));
        offer.insert("romeCode".into(), Value::from(job.code));
        offer.insert("romeLibelle".into(), Value::from(job.label));
        if percent(rng, 97) {
            offer.insert("appellationlibelle".into(), Value::from(appellation));
        }
        offer.insert("entreprise".into(), Value::Object(entreprise));
        offer.insert("typeContrat".into(), Value::from(kind));
        offer.insert("typeContratLibelle".into(), Value::from(kind_label));
        offer.insert("natureContrat".into(), Value::from(nature));
        offer.insert("experienceExige".into(), Value::from(experience_code));
        offer.insert("experienceLibelle".into(), Value::from(experience_label));
        if let Some((code, label)) = qualification {
            offer.insert("qualificationCode".into(), Value::from(code));
            offer.insert("qualificationLibelle".into(), Value::from(label));
        }
        if let Some(skills) = skills {
            offer.insert("competences".into(), skills);
        }
        offer.insert("salaire".into(), Value::Object(salaire));
        if percent(rng, 96) {
            offer.insert(
                "dureeTravailLibelle".into(),
                Value::from(format!("{hours_text} {schedule_kind}")),
            );
        }
        offer.insert(
            "dureeTravailLibelleConverti".into(),
            Value::from(if full_time {
                "Temps plein"
            } else {
                "Temps partiel"
            }),
        );
        offer.insert("alternance".into(), Value::from(alternance));
        offer.insert("nombrePostes".into(), Value::from(positions));
        offer.insert("accessibleTH".into(), Value::from(percent(rng, 15)));
        if let Some((code, label)) = sector {
            offer.insert("secteurActivite".into(), Value::from(code));
            offer.insert("secteurActiviteLibelle".into(), Value::from(label));
        }
        offer.insert("codeAgence".into(), Value::from(agency));
        offer.insert("publiee".into(), Value::from(percent(rng, 85)));
        offer.insert("avecPreselection".into(), Value::from(percent(rng, 20)));
        offer.insert("contratAide".into(), Value::from(aided));
        offer.insert("iae".into(), Value::from(iae));
        Value::Object(offer)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone;

    use super::*;

    const AGENCIES: &[&str] = &["13013", "13483", "13181", "13501", "13196", "84526"];

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 10, 30, 0).unwrap() + TimeDelta::milliseconds(250)
    }

    fn lines(count: usize, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_offers(&mut out, count, seed, now()).unwrap();
        out
    }

    #[test]
    fn same_seed_gives_identical_output() {
        let first = lines(500, 42);
        assert_eq!(first, lines(500, 42));
        let text = String::from_utf8(first).unwrap();
        assert_eq!(text.lines().count(), 500);
        // The iterator yields the same offers as the written lines.
        let parsed: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let iterated: Vec<Value> = DemoOffers::new(500, 42, now()).collect();
        assert_eq!(parsed, iterated);
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(lines(50, 1), lines(50, 2));
    }

    #[test]
    fn ids_are_unique_over_20000_offers() {
        let ids: HashSet<String> = DemoOffers::new(20_000, 7, now())
            .map(|offer| offer["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 20_000);
        for id in ids.iter().take(100) {
            assert_eq!(id.len(), 7, "{id}");
            assert!(id[..3].bytes().all(|b| b.is_ascii_digit()), "{id}");
            assert!(
                id[3..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "{id}"
            );
        }
    }

    #[test]
    fn ids_stay_unique_up_to_ten_million() {
        let sampled: Vec<usize> = (0..10_000_000)
            .step_by(499)
            .chain(9_990_000..10_000_000)
            .collect();
        let ids: HashSet<String> = sampled.iter().map(|&index| offer_id(index)).collect();
        let distinct: HashSet<usize> = sampled.into_iter().collect();
        assert_eq!(ids.len(), distinct.len());
        assert!(ids.iter().all(|id| id.len() == 7));
    }

    #[test]
    fn every_offer_is_complete_and_coherent() {
        let refs = referentials::get();
        let now = now();
        let oldest = now - TimeDelta::days(60);
        let mut without_point = 0;
        let mut aix_agencies = HashSet::new();
        for offer in DemoOffers::new(5_000, 11, now) {
            assert!(!offer["id"].as_str().unwrap().is_empty());
            assert!(!offer["intitule"].as_str().unwrap().is_empty());
            let description = offer["description"].as_str().unwrap();
            assert!(!description.contains('{'), "{description}");
            let created = DateTime::parse_from_rfc3339(offer["dateCreation"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc);
            let updated =
                DateTime::parse_from_rfc3339(offer["dateActualisation"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc);
            assert!(created > oldest && created <= now, "{created}");
            assert!(updated >= created && updated <= now, "{updated}");
            let agency = offer["codeAgence"].as_str().unwrap();
            assert!(AGENCIES.contains(&agency), "{agency}");
            let rome = offer["romeCode"].as_str().unwrap();
            assert!(refs.job(rome).is_some(), "{rome}");
            let kind = offer["typeContrat"].as_str().unwrap();
            assert!(CONTRACT_TYPES.iter().any(|t| t.code == kind), "{kind}");
            let place = &offer["lieuTravail"];
            let commune = refs.commune(place["commune"].as_str().unwrap()).unwrap();
            assert!(commune.department == "13" || commune.department == "84");
            let postal = place["codePostal"].as_str().unwrap().to_owned();
            assert!(commune.postal_codes.contains(&postal));
            match (place["latitude"].as_f64(), place["longitude"].as_f64()) {
                (Some(lat), Some(lon)) => {
                    let away = haversine_km((lat, lon), (commune.latitude, commune.longitude));
                    assert!(away < 2.0, "{away} km");
                }
                _ => without_point += 1,
            }
            if commune.code == "13001" {
                aix_agencies.insert(agency.to_owned());
            }
        }
        assert!((300..=700).contains(&without_point), "{without_point}");
        assert_eq!(aix_agencies.len(), 2, "{aix_agencies:?}");
    }

    #[test]
    fn about_a_fifth_of_offers_are_with_preselection() {
        let with = DemoOffers::new(5_000, 3, now())
            .filter(|offer| offer["avecPreselection"].as_bool().unwrap())
            .count();
        assert!((750..=1250).contains(&with), "{with}");
    }

    #[test]
    fn gendered_forms_split_the_rome_label() {
        assert_eq!(
            gendered_forms("Ouvrier forestier / Ouvrière forestière"),
            (
                "Ouvrier forestier".to_owned(),
                "Ouvrière forestière".to_owned()
            )
        );
        assert_eq!(
            gendered_forms("Chef / Cheffe d'équipe paysagiste"),
            (
                "Chef d'équipe paysagiste".to_owned(),
                "Cheffe d'équipe paysagiste".to_owned()
            )
        );
        assert_eq!(
            gendered_forms("Secrétaire"),
            ("Secrétaire".to_owned(), "Secrétaire".to_owned())
        );
    }

    /// `cargo test --release --lib demo_data -- --ignored` to time a million offers.
    #[test]
    #[ignore]
    fn streams_a_million_offers() {
        let started = std::time::Instant::now();
        write_offers(&mut io::sink(), 1_000_000, 1, now()).unwrap();
        eprintln!("1,000,000 offers in {:?}", started.elapsed());
    }
}
