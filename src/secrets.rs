//! Random tokens and their digests: API keys, session tokens. A token is
//! shown or sent once; only its SHA-256 is stored, enough for a random
//! 244-bit secret and searchable with one indexed lookup.

use sha2::{Digest, Sha256};

/// 244 random bits from the operating system (two v4 UUIDs), as hex.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
