//! Passwords: rules that help people choose, argon2id hashes, and generated
//! first passwords.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngExt;

pub const MIN_LENGTH: usize = 12;
const GENERATED_LENGTH: usize = 16;
/// No 0/O, 1/l/I: a first password is read off a screen and typed.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Passwords people reach for first; compared without case.
const COMMON: &[&str] = &[
    "123456789012",
    "azertyuiopqs",
    "azertyuiop123",
    "motdepasse123",
    "motdepasse2024",
    "motdepasse2025",
    "motdepasse2026",
    "password1234",
    "passwordpassword",
    "qwertyuiop12",
    "000000000000",
    "111111111111",
    "123123123123",
    "abcdefghijkl",
    "soleil123456",
    "bonjour12345",
    "marseille1234",
    "marseille13013",
    "franceTravail1",
    "poleemploi123",
    "poleemploi2024",
    "azerty123456",
    "azertyazerty",
    "jetaime123456",
    "doudou123456",
    "iloveyou1234",
    "welcome12345",
    "changeme1234",
    "administrateur",
    "motdepasse!!",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    #[error("Le mot de passe doit compter au moins {MIN_LENGTH} caractères.")]
    TooShort,
    #[error("Le mot de passe ne doit pas contenir votre identifiant.")]
    ContainsLogin,
    #[error("Ce mot de passe est trop courant : choisissez-en un autre, une phrase par exemple.")]
    TooCommon,
    #[error("Le mot de passe doit varier : pas seulement des espaces ni un même caractère répété.")]
    TooPlain,
}

/// Checks a password someone chose.
pub fn check(login: &str, password: &str) -> Result<(), PasswordRule> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordRule::TooShort);
    }
    // Twelve spaces, or « aaaaaaaaaaaa », pass the length and guard nothing.
    let mut kinds = password.chars().filter(|c| !c.is_whitespace());
    let first = kinds.next();
    if first.is_none_or(|first| kinds.all(|c| c == first)) {
        return Err(PasswordRule::TooPlain);
    }
    let lower = password.to_lowercase();
    if !login.is_empty() && lower.contains(&login.to_lowercase()) {
        return Err(PasswordRule::ContainsLogin);
    }
    if COMMON
        .iter()
        .any(|common| common.eq_ignore_ascii_case(password))
    {
        return Err(PasswordRule::TooCommon);
    }
    Ok(())
}

/// An argon2id PHC string, salted.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A first password, shown once; the person must replace it.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..GENERATED_LENGTH)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_explain_what_is_wrong() {
        assert_eq!(check("jdupont", "court"), Err(PasswordRule::TooShort));
        assert_eq!(
            check("jdupont", &" ".repeat(12)),
            Err(PasswordRule::TooPlain)
        );
        assert_eq!(
            check("jdupont", "a a a a a a a"),
            Err(PasswordRule::TooPlain)
        );
        assert_eq!(check("jdupont", "une phrase à moi"), Ok(()));
        assert_eq!(
            check("jdupont", "xxJDupont2026xx"),
            Err(PasswordRule::ContainsLogin)
        );
        assert_eq!(
            check("jdupont", "Azerty123456"),
            Err(PasswordRule::TooCommon)
        );
        assert_eq!(check("jdupont", "cheval agrafe pile correcte"), Ok(()));
    }

    #[test]
    fn generated_passwords_pass_the_rules_and_verify() {
        let password = generate();
        assert_eq!(password.len(), GENERATED_LENGTH);
        assert_ne!(password, generate());
        assert_eq!(check("jdupont", &password), Ok(()));
        let stored = hash(&password).expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&password, &stored));
        assert!(!verify("autre chose entièrement", &stored));
    }
}
