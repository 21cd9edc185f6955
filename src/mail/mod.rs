//! Mail: addresses, the outbox every message goes through, and the
//! transports that deliver it.

pub mod outbox;
pub mod transport;

use std::fmt;
use std::sync::Arc;

/// Wakes the delivery worker when a message is queued, so that it leaves at
/// once instead of at the next tick (a wake-up with nobody waiting is kept).
#[derive(Clone, Default)]
pub struct MailWaker(Arc<tokio::sync::Notify>);

impl MailWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// An email address that looks deliverable: one `@`, a local part, a dotted
/// domain, no spaces. (Deliverability itself is the mail server's to tell.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Option<EmailAddress> {
        let raw = raw.trim();
        let (local, domain) = raw.split_once('@')?;
        let valid = !local.is_empty()
            && raw.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !raw.contains(char::is_whitespace);
        valid.then(|| EmailAddress(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn plausible_addresses_only() {
        assert!(EmailAddress::parse("recrutementpertuis@pole-emploi.net").is_some());
        for bad in [
            "",
            "pas une adresse",
            "a@b",
            "@b.fr",
            "a@.fr",
            "a@b.fr.",
            "a@b@c.fr",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad}");
        }
    }
}
