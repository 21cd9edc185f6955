//! How messages leave: written to a folder (the default, nothing leaves the
//! machine) or handed to an SMTP server.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{FileTransport, SmtpTransport, Transport};

use super::outbox::Queued;
use crate::config::{MailSettings, MailTransport, SmtpSecurity, SmtpSettings};

pub enum Mailer {
    File(PathBuf),
    Smtp(Box<SmtpTransport>),
}

impl Mailer {
    /// Checks the settings once, at start, so that a wrong configuration
    /// stops relais instead of failing every message.
    pub fn from_settings(settings: &MailSettings) -> Result<Mailer, String> {
        settings.from.parse::<Mailbox>().map_err(|e| {
            format!(
                "mail.from « {} » n'est pas une adresse : {e}",
                settings.from
            )
        })?;
        match settings.transport {
            MailTransport::File => Ok(Mailer::File(settings.file_dir.clone())),
            MailTransport::Smtp => smtp(&settings.smtp).map(|t| Mailer::Smtp(Box::new(t))),
        }
    }

    pub fn send(&self, message: &Queued, from: &str) -> Result<(), String> {
        let from: Mailbox = from.parse().map_err(|e| format!("expéditeur : {e}"))?;
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|e| format!("destinataire : {e}"))?;
        let body = readable_body(&message.body);
        let email = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(&message.subject)
            .message_id(Some(message.message_id()))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        match self {
            Mailer::File(folder) => {
                std::fs::create_dir_all(folder).map_err(|e| {
                    format!("dossier de la boîte d'envoi locale impossible à créer ({e})")
                })?;
                FileTransport::new(folder)
                    .send(&email)
                    .map(|_| ())
                    .map_err(|e| format!("écriture dans la boîte d'envoi locale impossible ({e})"))
            }
            Mailer::Smtp(transport) => transport.send(&email).map(|_| ()).map_err(|e| {
                format!("le serveur de courriel a refusé le message ou n'a pas répondu ({e})")
            }),
        }
    }
}

/// 8 bits, so that the French text and the links (longer than the 76
/// characters lettre keeps 8-bit lines to) stay readable and whole in the raw
/// message; SMTP allows lines of up to 998 octets. A body that does not fit
/// gets lettre's own choice of encoding.
fn readable_body(text: &str) -> Body {
    let fits = !text.contains('\0') && text.lines().all(|line| line.len() <= 990);
    if fits {
        let crlf = text.lines().collect::<Vec<_>>().join("\r\n") + "\r\n";
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
    } else {
        Body::new(text.to_owned())
    }
}

fn smtp(settings: &SmtpSettings) -> Result<SmtpTransport, String> {
    let host = settings.host.as_str();
    let builder = match settings.security {
        SmtpSecurity::None => {
            let local = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !local {
                return Err(format!(
                    "mail.smtp.security = \"none\" enverrait les messages en clair à {host} : \
                     choisissez \"starttls\" ou \"tls\" (\"none\" n'est admis que vers un serveur local)"
                ));
            }
            SmtpTransport::builder_dangerous(host)
        }
        SmtpSecurity::Starttls => {
            SmtpTransport::starttls_relay(host).map_err(|e| format!("mail.smtp : {e}"))?
        }
        SmtpSecurity::Tls => SmtpTransport::relay(host).map_err(|e| format!("mail.smtp : {e}"))?,
    };
    let mut builder = builder
        .port(settings.port)
        .timeout(Some(Duration::from_secs(settings.timeout_secs)));
    if !settings.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            settings.username.clone(),
            settings.password.clone(),
        ));
    }
    Ok(builder.build())
}
