//! The candidate, as the coach enters them: names, France Travail
//! identifier, and contact details only with their consent. Every field is
//! checked; the errors name the field, in French.

use crate::mail::EmailAddress;
use crate::text::composed;

const MAX_NAME: usize = 50;

/// The form as submitted (also used to show it again with its errors).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CandidateForm {
    #[serde(default)]
    pub nom: String,
    #[serde(default)]
    pub prenom: String,
    #[serde(default)]
    pub identifiant: String,
    /// "oui" when the box is ticked; absent otherwise (HTML checkboxes).
    #[serde(default)]
    pub consentement: Option<String>,
    #[serde(default)]
    pub courriel: String,
    #[serde(default)]
    pub telephone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub last_name: String,
    pub first_name: String,
    /// Seven digits and a letter, e.g. "1234567A".
    pub identifier: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl CandidateForm {
    pub fn consents(&self) -> bool {
        self.consentement.as_deref() == Some("oui")
    }

    pub fn parse(&self) -> Result<Candidate, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field, message: &str| {
            problems.push(FieldProblem {
                field,
                message: message.to_owned(),
            })
        };
        let last_name = name(&self.nom);
        if last_name.is_none() {
            problem(
                "nom",
                "Indiquez le nom de famille : des lettres, espaces, tirets ou apostrophes (50 au plus).",
            );
        }
        let first_name = name(&self.prenom);
        if first_name.is_none() {
            problem(
                "prenom",
                "Indiquez le prénom : des lettres, espaces, tirets ou apostrophes (50 au plus).",
            );
        }
        let identifier = identifier(&self.identifiant);
        if identifier.is_none() {
            problem(
                "identifiant",
                "L'identifiant France Travail compte 7 chiffres suivis d'une lettre, par exemple 1234567A.",
            );
        }
        let (email, phone) = (self.courriel.trim(), self.telephone.trim());
        let mut contact = (None, None);
        if self.consents() {
            if email.is_empty() && phone.is_empty() {
                problem(
                    "courriel",
                    "La personne accepte d'être contactée : indiquez son adresse électronique ou son téléphone.",
                );
            }
            if !email.is_empty() {
                match EmailAddress::parse(email) {
                    Some(address) => contact.0 = Some(address.to_string()),
                    None => problem("courriel", "L'adresse électronique n'est pas valide."),
                }
            }
            if !phone.is_empty() {
                match telephone(phone) {
                    Some(number) => contact.1 = Some(number),
                    None => problem(
                        "telephone",
                        "Le téléphone compte 10 chiffres (ex. 06 12 34 56 78) ou commence par +33.",
                    ),
                }
            }
        } else if !email.is_empty() || !phone.is_empty() {
            problem(
                "consentement",
                "Des coordonnées ne se transmettent qu'avec l'accord de la personne : cochez la case \
                 de consentement, ou effacez l'adresse et le téléphone.",
            );
        }
        match (last_name, first_name, identifier) {
            (Some(last_name), Some(first_name), Some(identifier)) if problems.is_empty() => {
                Ok(Candidate {
                    last_name,
                    first_name,
                    identifier,
                    email: contact.0,
                    phone: contact.1,
                })
            }
            _ => Err(problems),
        }
    }
}

/// The longest a field may be typed, as the page's inputs say.
pub fn max_length(field: &str) -> Option<usize> {
    match field {
        "nom" | "prenom" => Some(MAX_NAME),
        "identifiant" => Some(16),
        "courriel" => Some(254),
        "telephone" => Some(20),
        _ => None,
    }
}

/// Letters, spaces, hyphens, apostrophes; spaces collapsed.
fn name(raw: &str) -> Option<String> {
    let raw = composed(raw);
    let words: Vec<&str> = raw.split_whitespace().collect();
    let joined = words.join(" ");
    let valid = !joined.is_empty()
        && joined.chars().count() <= MAX_NAME
        && joined.chars().any(char::is_alphabetic)
        && joined
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’'));
    valid.then_some(joined)
}

fn identifier(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.to_uppercase();
    let bytes = compact.as_bytes();
    let valid = bytes.len() == 8
        && bytes[..7].iter().all(u8::is_ascii_digit)
        && bytes[7].is_ascii_uppercase();
    valid.then_some(compact)
}

/// A French number, written back as "06 12 34 56 78".
fn telephone(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    let national = match digits.strip_prefix("+33") {
        Some(rest) if rest.len() == 9 => format!("0{rest}"),
        Some(_) => return None,
        None => digits,
    };
    let valid = national.len() == 10
        && national.starts_with('0')
        && national.chars().all(|c| c.is_ascii_digit());
    valid.then(|| {
        national
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(nom: &str, prenom: &str, identifiant: &str) -> CandidateForm {
        CandidateForm {
            nom: nom.into(),
            prenom: prenom.into(),
            identifiant: identifiant.into(),
            ..CandidateForm::default()
        }
    }

    #[test]
    fn a_well_formed_candidate_is_normalised() {
        let mut submitted = form("  N'Diaye-Martin ", "Aïcha  Léa", "1234567a");
        submitted.consentement = Some("oui".into());
        submitted.telephone = "+33 6.12.34.56.78".into();
        let candidate = submitted.parse().expect("valid");
        assert_eq!(candidate.last_name, "N'Diaye-Martin");
        assert_eq!(candidate.first_name, "Aïcha Léa");
        assert_eq!(candidate.identifier, "1234567A");
        assert_eq!(candidate.phone.as_deref(), Some("06 12 34 56 78"));
        assert_eq!(candidate.email, None);
    }

    #[test]
    fn identifiers_are_seven_digits_and_a_letter() {
        for bad in [
            "123456A",
            "12345678",
            "1234567AB",
            "A1234567",
            "1234567é",
            "",
        ] {
            let problems = form("Durand", "Paul", bad).parse().unwrap_err();
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].field, "identifiant", "{bad}");
        }
    }

    #[test]
    fn names_pasted_with_combining_accents_are_accepted() {
        let candidate = form(
            "Ge\u{301}ro\u{302}me-Lefe\u{300}vre",
            "E\u{301}lodie",
            "1234567A",
        )
        .parse()
        .unwrap();
        assert_eq!(
            (candidate.last_name.as_str(), candidate.first_name.as_str()),
            ("Gérôme-Lefèvre", "Élodie")
        );
    }

    #[test]
    fn names_carry_no_free_text() {
        for bad in ["", "   ", "Durand, à rappeler", "D0rand", "<b>Durand</b>"] {
            let problems = form(bad, "Paul", "1234567A").parse().unwrap_err();
            assert_eq!(problems[0].field, "nom", "{bad}");
        }
        let long = "a".repeat(51);
        assert!(form(&long, "Paul", "1234567A").parse().is_err());
    }

    #[test]
    fn contact_details_need_consent_and_consent_needs_one() {
        let mut without_consent = form("Durand", "Paul", "1234567A");
        without_consent.courriel = "paul@example.org".into();
        assert_eq!(
            without_consent.parse().unwrap_err()[0].field,
            "consentement"
        );

        let mut consent_alone = form("Durand", "Paul", "1234567A");
        consent_alone.consentement = Some("oui".into());
        assert_eq!(consent_alone.parse().unwrap_err()[0].field, "courriel");

        let mut bad_phone = consent_alone.clone();
        bad_phone.telephone = "12 34".into();
        assert_eq!(bad_phone.parse().unwrap_err()[0].field, "telephone");

        let mut good = consent_alone;
        good.courriel = "paul@example.org".into();
        assert_eq!(
            good.parse().expect("valid").email.as_deref(),
            Some("paul@example.org")
        );
    }
}
