//! Why a configuration value was refused, in French: figment and serde say
//! it in English ("invalid type: found string …, expected u32"), and the
//! people who read it run a French public service.

use figment::error::{Actual, Kind};

pub(super) fn french(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => format!(
            "valeur {} refusée, attendu : {}",
            value(actual),
            expected_value(expected)
        ),
        Kind::UnknownVariant(found, expected) => format!(
            "valeur « {found} » inconnue, valeurs possibles : {}",
            listed(expected)
        ),
        Kind::UnknownField(_, expected) => {
            format!("clé inconnue, clés possibles ici : {}", listed(expected))
        }
        Kind::MissingField(name) => format!("clé `{name}` manquante"),
        Kind::DuplicateField(name) => format!("clé `{name}` donnée deux fois"),
        Kind::InvalidLength(length, expected) => {
            format!("{length} élément(s), attendu : {expected}")
        }
        Kind::ISizeOutOfRange(number) => format!("nombre {number} hors limites"),
        Kind::USizeOutOfRange(number) => format!("nombre {number} hors limites"),
        // The messages of the standard library a setting can meet.
        Kind::Message(message) if message == "invalid socket address syntax" => {
            "adresse invalide, attendu : adresse IP et port, par ex. 127.0.0.1:8080".to_owned()
        }
        Kind::Message(message) if message == "invalid IP address syntax" => {
            "adresse IP invalide, attendu : une adresse IPv4 ou IPv6, par ex. 10.0.0.10".to_owned()
        }
        other => other.to_string(),
    }
}

fn value(actual: &Actual) -> String {
    match actual {
        Actual::Str(text) => format!("« {text} »"),
        Actual::Bool(flag) => flag.to_string(),
        Actual::Unsigned(number) => number.to_string(),
        Actual::Signed(number) => number.to_string(),
        Actual::Float(number) => number.to_string(),
        other => other.to_string(),
    }
}

/// serde's names of the expected values, for the kinds our settings use.
fn expected_value(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "un entier positif ou nul".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "un entier".to_owned(),
        "f32" | "f64" => "un nombre".to_owned(),
        "a boolean" => "true ou false".to_owned(),
        "a string" => "un texte entre guillemets".to_owned(),
        nonzero if nonzero.starts_with("a nonzero") => "un entier supérieur à 0".to_owned(),
        other => other.to_owned(),
    }
}

fn listed(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
